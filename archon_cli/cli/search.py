"""`archon search CONFIG`: run (or resume) a search; live progress, leaderboard, run dir path."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

from archon_cli.cli.output import console
from archon_cli.cli.views import leaderboard, progress_view
from archon_cli.cluster.executor import RayExecutor
from archon_cli.config.search import SearchConfig, load_search_config
from archon_cli.errors import ConfigError, Interrupted, SearchFailed
from archon_cli.llm.session import default_cache_path
from archon_cli.runs import RunDir
from archon_cli.search.executors import LocalExecutor, TrialExecutor
from archon_cli.search.loop import run_search
from archon_cli.search.results import run_summary, trial_rows
from archon_cli.search.status import Status
from archon_cli.search.study import open_study

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
    if trials is not None:
        updates["search"] = cfg.search.model_copy(update={"trials": trials})
    execution = {k: v for k, v in (("workers", workers), ("executor", executor), ("ray_address", ray_address))
                 if v is not None}
    if execution:
        updates["execution"] = cfg.execution.model_copy(update=execution)
    if updates:
        cfg = cfg.model_copy(update=updates)
    if cfg.execution.executor == "local" and (cfg.execution.ray_address is not None or cfg.replicated()):
        raise ConfigError("--executor local: ray_address and models with replicas > 1 need --executor ray")
    if resume is None:
        run = RunDir.create(Path(runs_dir) if runs_dir is not None else Path(cfg.runs_dir), cfg.name)
    elif updates:
        run.write_config(cfg)
    err, out = console(stderr=True), console()
    err.print(f"run dir: {run.path}", soft_wrap=True)
    with Live(console=err, refresh_per_second=4, transient=False) as live:
        def show(status: Status) -> None:
            live.update(progress_view(status))

        try:
            status = run_search(cfg, run, make_executor(cfg, run), resume=resume is not None, on_status=show)
        except KeyboardInterrupt:
            # typer would turn this into exit code 130 that main() cannot see; say how to go on
            raise Interrupted(f"interrupted; the run is resumable: archon search --resume {run.path}") from None
    study = open_study(run, cfg)
    rows = trial_rows(study, cfg)
    summary = run_summary(rows)
    out.print(leaderboard(rows))
    out.print(f"stopped: {status.stop_reason}; {summary['trials']} trials {summary['states']}; "
              f"{summary['calls']} LLM calls, {summary['cache_hit_fraction']:.0%} served from cache; "
              f"{summary['engine_tokens']} engine tokens; wall {status.elapsed:.0f}s", soft_wrap=True)
    if run.best_yaml.is_file():
        out.print(f"best: {run.best_yaml}", soft_wrap=True)
    out.print(f"run dir: {run.path}", soft_wrap=True)
    if status.failure is not None:
        raise SearchFailed(f"every trial failed ({status.evaluated} run): {status.failure}")
