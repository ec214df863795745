"""`archon show RUN_DIR` (leaderboard, Pareto front, summary) and `archon runs [DIR]`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from archon_cli.cli.output import console, print_json
from archon_cli.cli.views import front_table, leaderboard
from archon_cli.errors import ArchonError, ConfigError, RunStateError
from archon_cli.runs import RunDir, list_runs
from archon_cli.search import results
from archon_cli.search.study import open_study

JSON_HELP = "print one JSON document on stdout instead"


def register(app: typer.Typer) -> None:
    app.command()(show)
    app.command()(runs)


def show(run_dir: Annotated[Path, typer.Argument(help="a run directory")],
         limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="rows in the leaderboard")] = 10,
         as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP + " (every trial's row)")] = False) -> None:
    """Print a run's leaderboard, Pareto front and usage summary."""
    run = RunDir.open(run_dir)
    cfg = run.load_config()
    study = open_study(run, cfg)
    rows = results.trial_rows(study, cfg)
    results.compare_with_best(run, rows)
    cost = results.cost_column(cfg)
    s = results.run_summary(rows)
    stop = study.user_attrs.get("stop_reason")
    verdict = json.loads(run.verdict_json.read_text(encoding="utf-8")) if run.verdict_json.is_file() else None
    plots = sorted(run.plots.glob("*.png")) if run.plots.is_dir() else []
    if as_json:
        # the rows of trials.csv (with vs_best / heldout), the summary, the front, verdict.json
        print_json({"run_dir": str(run.path), "name": cfg.name, "cost": cost, "summary": s, "stop_reason": stop,
                    "best": _best(rows), "pareto_front": [r["number"] for r in results.pareto_front(rows, cost)],
                    "trials": rows, "verdict": verdict, "plots": [str(p) for p in plots]})
        return
    out = console()
    out.print(leaderboard(rows, limit, cost))
    out.print(front_table(rows, cost))
    out.print(f"{s['trials']} trials {s['states']}; {s['calls']} LLM calls, {s['cache_hits']} from cache "
              f"({s['cache_hit_fraction']:.0%}); {s['engine_tokens']} engine tokens; "
              f"stopped: {stop or 'running or killed'}")
    for line in verdict["lines"] if verdict is not None else []:
        out.print(line)
    for p in plots:
        out.print(f"plot: {p}")


def _best(rows: list[dict[str, Any]]) -> int | None:
    try:
        return int(results.pick(rows, "best")["number"])
    except RunStateError:  # no complete trial yet
        return None


def runs(runs_dir: Annotated[Path, typer.Argument(help="a runs directory")] = Path("runs"),
         as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> None:
    """List the runs in a directory: name, trials, best accuracy, stop reason."""
    from rich.table import Table

    if not runs_dir.is_dir():
        raise ConfigError(f"{runs_dir}: no such directory (give the directory that holds run dirs)")
    listed: list[dict[str, Any]] = []
    for run in list_runs(runs_dir):
        try:
            cfg = run.load_config()
            study = open_study(run, cfg)
            rows = results.trial_rows(study, cfg)
        except ArchonError as exc:
            listed.append({"run_dir": str(run.path), "trials": None, "best_accuracy": None, "stop_reason": None,
                           "error": str(exc)})
            continue
        listed.append({"run_dir": str(run.path), "trials": len(rows),
                       "best_accuracy": max((r["accuracy"] for r in results.complete_rows(rows)), default=None),
                       "stop_reason": study.user_attrs.get("stop_reason"), "error": None})
    if as_json:
        print_json({"runs_dir": str(runs_dir), "runs": listed})
        return
    table = Table("run", "trials", "best accuracy", "stopped")
    for r in listed:
        if r["error"] is not None:
            table.add_row(r["run_dir"], "?", "?", f"unreadable: {r['error']}")
            continue
        best = r["best_accuracy"]
        table.add_row(r["run_dir"], str(r["trials"]), "—" if best is None else f"{best:.3f}",
                      str(r["stop_reason"] or "running or killed"))
    console().print(table)
