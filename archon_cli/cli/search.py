"""`archon search CONFIG`: run (or resume) a search; live progress, leaderboard, run dir path."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import typer

from archon_cli.cli.output import console, phases
from archon_cli.cli.views import LiveProgress, leaderboard
from archon_cli.cluster.executor import RayExecutor
from archon_cli.config.search import SearchConfig, load_search_config
from archon_cli.errors import ConfigError, Interrupted, RunStateError, SearchFailed
from archon_cli.llm.credentials import require_credentials
from archon_cli.llm.session import default_cache_path
from archon_cli.runs import RunDir
from archon_cli.search.executors import LocalExecutor, TrialExecutor
from archon_cli.search.loop import run_search
from archon_cli.search.preflight import check_search_config
from archon_cli.search.replay import replay_trial
from archon_cli.search.results import compare_with_best, run_summary, trial_rows
from archon_cli.search.status import Status
from archon_cli.search.study import open_study

if TYPE_CHECKING:
    from rich.console import Console

Executor = Literal["local", "ray"]


def register(app: typer.Typer) -> None:
    app.command()(search)


def make_executor(cfg: SearchConfig, run: RunDir) -> TrialExecutor:
    """In process unless the config asks for Ray (executor: ray, an address, or replicas)."""
    cache = cfg.execution.cache
    cache_path = None if cache == "off" else run.cache_db if cache == "run" else default_cache_path()
    if cfg.on_ray:
        return RayExecutor(cfg.resolved_models(), slots=cfg.execution.workers,
                           ray_address=cfg.execution.ray_address, cache_path=cache_path)
    return LocalExecutor(cfg.resolved_models(), slots=cfg.execution.workers, use_cache=cache_path is not None,
                         cache_path=cache_path)


def search(
    config: Path | None = typer.Argument(None, help="a search config YAML (not needed with --resume)"),
    trials: int | None = typer.Option(None, "--trials", "-t", min=1, help="override search.trials"),
    workers: int | None = typer.Option(None, "--workers", min=1, help="override execution.workers (trials at once)"),
    executor: Executor | None = typer.Option(None, "--executor", help="local (in process) or ray; default: ray "
                                             "only when --ray-address or a model's replicas ask for it"),
    runs_dir: Path | None = typer.Option(None, "--runs-dir", help="where run directories go (default: runs_dir)"),
    resume: Path | None = typer.Option(None, "--resume", help="continue the run in this directory"),
    ray_address: str | None = typer.Option(None, "--ray-address", help="join this Ray cluster (HOST:PORT)"),
    no_verdict: bool = typer.Option(False, "--no-verdict", help="skip the held-out comparison with baselines"),
    trace: bool = typer.Option(False, "--trace", help="write each trial's pipeline trace to trials/NNNN/trace.jsonl "
                               "(every layer's candidates, critiques, rankings, per example); sets search.trace"),
) -> None:
    """Search for the best architecture under the config's budget; writes a run directory."""
    from rich.live import Live

    if resume is not None:
        run = RunDir.open(resume)
        cfg = run.load_config()
    elif config is not None:
        cfg = load_search_config(config)
    else:
        raise ConfigError("give a search config, or --resume RUN_DIR")
    updates: dict[str, object] = {}
    search_updates = {k: v for k, v in (("trials", trials), ("trace", trace or None)) if v is not None}
    if search_updates:
        updates["search"] = cfg.search.model_copy(update=search_updates)
    execution = {k: v for k, v in (("workers", workers), ("executor", executor), ("ray_address", ray_address))
                 if v is not None}
    if execution:
        updates["execution"] = cfg.execution.model_copy(update=execution)
    if updates:
        cfg = cfg.model_copy(update=updates)
    if cfg.needs_ray_but_local():  # the flags may have made it so after the file was checked
        raise ConfigError("--executor local: ray_address and models with replicas > 1 need --executor ray")
    if resume is None:
        check_search_config(cfg, config or "search config")  # every problem now, nothing left behind
        run = RunDir.create(Path(runs_dir) if runs_dir is not None else Path(cfg.runs_dir), cfg.name)
    else:
        require_credentials(cfg.resolved_models())  # before the study opens: exit 2, no trial fails for it
        if updates:
            run.write_config(cfg)
    err, out = console(stderr=True), console()
    err.print(f"run dir: {run.path}")
    view = LiveProgress()
    # On a terminal only: elsewhere (a pipe, a log) Live leaves one unterminated frame behind.
    live = Live(view, console=err, refresh_per_second=4, transient=False) if err.is_terminal else nullcontext()
    with live:
        def show(status: Status) -> None:
            view.status = status

        try:
            status = run_search(cfg, run, make_executor(cfg, run), resume=resume is not None, on_status=show)
        except KeyboardInterrupt:
            # typer would turn this into exit code 130 that main() cannot see; say how to go on
            raise Interrupted(f"interrupted; the run is resumable: archon search --resume {run.path}") from None
    study = open_study(run, cfg)
    rows = trial_rows(study, cfg)
    compare_with_best(run, rows)
    summary = run_summary(rows)
    out.print(leaderboard(rows))
    states = ", ".join(f"{n} {state}" for state, n in sorted(summary["states"].items()))
    out.print(f"stopped: {status.stop_reason}; {summary['trials']} trials ({states}); "
              f"{summary['calls']} LLM calls, {summary['cache_hit_fraction']:.0%} served from cache; "
              f"{summary['engine_tokens']} engine tokens; wall {status.elapsed:.0f}s")
    if run.best_yaml.is_file():
        out.print(f"best: {run.best_yaml}")
    out.print(f"run dir: {run.path}")
    if run.best_yaml.is_file() and cfg.search.verdict.enabled and not no_verdict:
        _verdict(run, cfg, out)  # last: the line a user reads is the result and its confidence
    if status.failure is not None:
        raise SearchFailed(f"every trial failed ({status.evaluated} run): {status.failure}")


def _verdict(run: RunDir, cfg: SearchConfig, out: Console) -> None:
    """The winner against its baselines on held-out examples; written to verdict.json."""
    examples = cfg.search.verdict.examples
    err = console(stderr=True)
    err.print(f"verdict: the best trial and its baselines on {examples or 'all'} held-out examples ...")
    try:
        with phases(err) as start:
            result = replay_trial(run.path, None, "test", examples, with_baselines=True, start=start)
    except RunStateError as exc:  # e.g. nothing held out
        out.print(f"verdict: not computed ({exc})")
        return
    assert result.verdict is not None
    run.write_json(run.verdict_json, result.verdict.to_dict() | {"usage_winner": result.evaluation.usage.to_dict()})
    for line in result.verdict.lines():
        out.print(line)
