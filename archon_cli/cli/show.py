"""`archon show RUN_DIR` (leaderboard, Pareto front, summary) and `archon runs [DIR]`."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from archon_cli.cli.output import console
from archon_cli.cli.views import front_table, leaderboard
from archon_cli.errors import ArchonError, ConfigError
from archon_cli.runs import RunDir, list_runs
from archon_cli.search.results import compare_with_best, complete_rows, cost_column, run_summary, trial_rows
from archon_cli.search.study import open_study


def register(app: typer.Typer) -> None:
    app.command()(show)
    app.command()(runs)


def show(run_dir: Path = typer.Argument(..., help="a run directory"),
         limit: int = typer.Option(10, "--limit", "-n", min=1, help="rows in the leaderboard")) -> None:
    """Print a run's leaderboard, Pareto front and usage summary."""
    run = RunDir.open(run_dir)
    cfg = run.load_config()
    rows = trial_rows(open_study(run, cfg), cfg)
    compare_with_best(run, rows)
    out = console()
    out.print(leaderboard(rows, limit, cost_column(cfg)))
    out.print(front_table(rows, cost_column(cfg)))
    s = run_summary(rows)
    stop = open_study(run, cfg).user_attrs.get("stop_reason", "running or killed")
    out.print(f"{s['trials']} trials {s['states']}; {s['calls']} LLM calls, {s['cache_hits']} from cache "
              f"({s['cache_hit_fraction']:.0%}); {s['engine_tokens']} engine tokens; stopped: {stop}")
    if run.verdict_json.is_file():
        for line in json.loads(run.verdict_json.read_text(encoding="utf-8"))["lines"]:
            out.print(line)
    plots = sorted(run.plots.glob("*.png")) if run.plots.is_dir() else []
    for p in plots:
        out.print(f"plot: {p}")


def runs(runs_dir: Path = typer.Argument(Path("runs"), help="a runs directory")) -> None:
    """List the runs in a directory: name, trials, best accuracy, stop reason."""
    from rich.table import Table

    if not runs_dir.is_dir():
        raise ConfigError(f"{runs_dir}: no such directory (give the directory that holds run dirs)")
    table = Table("run", "trials", "best accuracy", "stopped")
    for run in list_runs(runs_dir):
        try:
            cfg = run.load_config()
            study = open_study(run, cfg)
            rows = trial_rows(study, cfg)
        except ArchonError as exc:
            table.add_row(str(run.path), "?", "?", f"unreadable: {exc}")
            continue
        best = max((r["accuracy"] for r in complete_rows(rows)), default=None)
        table.add_row(str(run.path), str(len(rows)), "—" if best is None else f"{best:.3f}",
                      str(study.user_attrs.get("stop_reason", "running or killed")))
    console().print(table)
