"""The search loop: ask → build spec → evaluate → write trial files → tell, under budgets.

One LLM client (one engine, one cache) and one event loop serve the whole search. A run
killed at any moment loses at most the trial in flight: on resume, trials left RUNNING are
marked FAIL (`interrupted`) and their params re-enqueued; they do not count toward `trials`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archon_cli.config.pipeline import PipelineSpec
from archon_cli.config.search import SearchConfig
from archon_cli.llm.usage import Usage
from archon_cli.runs import RunDir, env_info
from archon_cli.search.objective import BudgetExceeded, TrialOutcome, engine_tokens, run_trial
from archon_cli.search.space import Infeasible, OptunaChooser, to_spec, walk
from archon_cli.search.split import split
from archon_cli.search.study import grid_points, open_study, seed_architectures


@dataclass
class Status:
    """What the progress view shows; updated after every trial and rung."""

    total: int
    done: int = 0
    running: int | None = None
    running_desc: str = ""
    best: float | None = None
    best_trial: int | None = None
    calls: int = 0
    cache_hits: int = 0
    engine_tokens: int = 0
    usd: float = 0.0
    started: float = field(default_factory=time.monotonic)
    done_this_session: int = 0
    budget_tokens: int | None = None
    budget_usd: float | None = None
    budget_wall_s: float | None = None
    stop_reason: str | None = None
    duplicates: int = 0  # proposals of seen architectures in a row
    last: str = ""

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def eta_s(self) -> float | None:
        if not self.done_this_session:
            return None
        return self.elapsed / self.done_this_session * max(0, self.total - self.done)


FINISHED = ("COMPLETE", "PRUNED", "FAIL")
MAX_DUPLICATES = 25  # repeats in a row before the space counts as exhausted


def counted(trial: Any) -> bool:
    """Trials that count toward `search.trials`: finished, not cut short by an interruption."""
    a = trial.user_attrs
    return trial.state.name in FINISHED and not a.get("interrupted") and a.get("duplicate_of") is None


def recover_interrupted(study: Any, run: RunDir) -> int:
    """Trials a killed process left RUNNING: FAIL them and enqueue their params again."""
    from optuna.trial import TrialState

    n = 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study._storage.set_trial_user_attr(t._trial_id, "interrupted", True)
        study.tell(t.number, state=TrialState.FAIL)
        study.enqueue_trial(t.params, user_attrs={"retry_of": t.number}, skip_if_exists=False)
        run.write_json(run.trial_dir(t.number) / "metrics.json", {"state": "fail", "reason": "interrupted"})
        n += 1
    return n


def run_search(cfg: SearchConfig, run: RunDir, *, resume: bool,
               on_status: Callable[[Status], None] = lambda s: None) -> Status:
    """Run (or continue) the search in `run`; returns the final status (stop reason set)."""

    from archon_cli.llm.session import default_cache_path, open_client
    from archon_cli.tasks.loading import load_task

    models = cfg.resolved_models()
    examples, scorer = load_task(cfg.task.dataset, cfg.task.scorer, limit=cfg.task.size, seed=cfg.task.seed)
    search_examples, _test = split(examples, cfg.task)
    study = open_study(run, cfg)
    budget = cfg.budget
    status = Status(total=cfg.search.trials, budget_tokens=budget.total_tokens, budget_usd=budget.usd,
                    budget_wall_s=budget.wall_s)

    if resume:
        n = recover_interrupted(study, run)
        run.log(f"resumed; {n} interrupted trial(s) re-enqueued")
    else:
        run.write_config(cfg)
        run.write_json(run.env_json, env_info())
        _enqueue_initial(study, cfg, run)
        run.log(f"search started: {len(search_examples)} search examples, {len(_test)} held out")

    cache_path = run.cache_db if cfg.execution.cache == "run" else default_cache_path()
    if cfg.on_ray:
        from archon_cli.cluster.search import run_on_ray

        return run_on_ray(cfg, run, study, status, search_examples, scorer, on_status,
                          cache_path if cfg.execution.cache != "off" else None)
    loop = asyncio.new_event_loop()
    try:
        with open_client(models, use_cache=cfg.execution.cache != "off", cache_path=cache_path) as client, \
                Interrupt(loop) as interrupt:
            refresh_status(status, study)
            on_status(status)
            try:
                while not should_stop(status, cfg):
                    before = status.duplicates
                    _one_trial(study, cfg, run, client, interrupt, search_examples, scorer, status, on_status)
                    interrupt.check()
                    if status.duplicates > before:
                        continue
                    status.duplicates = 0
                    refresh_status(status, study)
                    status.done_this_session += 1
                    on_status(status)
                interrupt.check()
            except BudgetExceeded as exc:
                status.stop_reason = str(exc)  # the trial in flight is re-enqueued for a resume
            except KeyboardInterrupt:
                status.stop_reason = "interrupted"
                raise
            finally:
                stop_search(study, run, cfg, status, client.engines.describe())
    finally:
        loop.close()
    return status


def should_stop(status: Status, cfg: SearchConfig) -> bool:
    """Checked before each new trial: trials done, a budget spent, or the space exhausted."""
    if status.done >= status.total:
        status.stop_reason = "trials done"
    elif status.duplicates >= MAX_DUPLICATES:
        status.stop_reason = f"the sampler proposed {MAX_DUPLICATES} seen architectures in a row"
    else:
        status.stop_reason = over_budget(status, cfg)
    return status.stop_reason is not None


def stop_search(study: Any, run: RunDir, cfg: SearchConfig, status: Status, engines: list[dict[str, object]],
                extra_env: dict[str, Any] | None = None) -> None:
    """Leave a complete, resumable run dir whatever stopped the search."""
    recover_interrupted(study, run)  # trials in flight, if any
    study.set_user_attr("stop_reason", status.stop_reason or "stopped")
    run.log(f"search stopped: {status.stop_reason}")
    run.write_json(run.env_json, env_info(engines) | (extra_env or {}) | _created(run))
    finalize(run, study, cfg)


class Interrupt:
    """Ctrl-C during a search: cancels the evaluation in flight (every await unwinds, the trial is
    re-enqueued) or, between evaluations, stops at the next safe point, never mid-write."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.requested = False
        self.task: asyncio.Task[Any] | None = None
        self._previous: Any = None

    def _handle(self, signum: int, frame: Any) -> None:
        self.requested = True
        if self.task is not None:
            self.loop.call_soon_threadsafe(self.task.cancel)

    def __enter__(self) -> Interrupt:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        import signal

        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def check(self) -> None:
        if self.requested:
            raise KeyboardInterrupt

    def run(self, coro: Any) -> Any:
        self.check()
        self.task = self.loop.create_task(coro)
        try:
            return self.loop.run_until_complete(self.task)
        except asyncio.CancelledError:
            if self.requested:
                raise KeyboardInterrupt from None
            raise
        finally:
            self.task = None


def _created(run: RunDir) -> dict[str, Any]:
    """Keep the first `created` stamp across resumes."""
    import json

    try:
        first = json.loads(run.env_json.read_text(encoding="utf-8")).get("created")
    except (OSError, ValueError):
        return {}
    return {"created": first} if first else {}


def _enqueue_initial(study: Any, cfg: SearchConfig, run: RunDir) -> None:
    space, models, calls_budget = cfg.resolved_space(), cfg.resolved_models(), cfg.budget.calls_per_query
    queued: list[dict[str, Any]] = []
    if cfg.search.seed_architectures:
        for seed in seed_architectures(space, models, calls_budget):
            study.enqueue_trial(seed.params, user_attrs={"seed": seed.label})
            queued.append(seed.params)
            run.log(f"enqueued seed architecture {seed.label} ({seed.calls} calls/query)")
    if cfg.search.sampler == "grid":
        for params in grid_points(space, models, calls_budget, cfg.search.seed):
            if params not in queued and len(queued) < cfg.search.trials:
                study.enqueue_trial(params)
                queued.append(params)


def _tell_duplicate(study: Any, trial: Any) -> bool:
    """An architecture already evaluated is told its earlier values without running again and
    does not count toward `trials` (a small space would otherwise fill up with repeats)."""
    for t in study.get_trials(deepcopy=False, states=_states("COMPLETE", "PRUNED")):
        if t.number != trial.number and t.params == trial.params and t.user_attrs.get("duplicate_of") is None:
            trial.set_user_attr("duplicate_of", t.number)
            for key in ("outcome", "reason", "accuracy", "n_examples", "calls_per_query"):
                if key in t.user_attrs:
                    trial.set_user_attr(key, t.user_attrs[key])
            trial.set_user_attr("outcome", "duplicate")
            trial.set_user_attr("reason", f"duplicate of trial {t.number} (not run again, not counted)")
            if t.state.name == "COMPLETE":
                study.tell(trial, t.values)
            else:
                study.tell(trial, state=_states("PRUNED")[0])
            return True
    return False


def _states(*names: str) -> tuple[Any, ...]:
    from optuna.trial import TrialState

    return tuple(TrialState[n] for n in names)


def over_budget(status: Status, cfg: SearchConfig) -> str | None:
    b = cfg.budget
    if b.total_tokens is not None and status.engine_tokens >= b.total_tokens:
        return f"token budget spent ({status.engine_tokens} ≥ {b.total_tokens})"
    if b.usd is not None and status.usd >= b.usd:
        return f"USD budget spent (${status.usd:.4f} ≥ ${b.usd})"
    if b.wall_s is not None and status.elapsed >= b.wall_s:
        return f"wall-clock budget spent ({status.elapsed:.0f}s ≥ {b.wall_s:.0f}s)"
    return None


def refresh_status(status: Status, study: Any) -> None:
    trials = study.get_trials(deepcopy=False)
    status.done = sum(1 for t in trials if counted(t))
    status.calls = sum(int(t.user_attrs.get("calls", 0)) for t in trials)
    status.cache_hits = sum(int(t.user_attrs.get("cache_hits", 0)) for t in trials)
    status.engine_tokens = sum(int(t.user_attrs.get("engine_tokens", 0)) for t in trials)
    status.usd = sum(float(t.user_attrs.get("usd", 0.0)) for t in trials)
    complete = [t for t in trials if t.state.name == "COMPLETE" and t.values]
    if complete:
        top = max(complete, key=lambda t: (t.values[0], -t.user_attrs.get("calls_per_query", 0)))
        status.best, status.best_trial = top.values[0], top.number


@dataclass
class Prepared:
    """A trial asked of the study and turned into a spec (or found infeasible before any call)."""

    trial: Any
    spec: PipelineSpec | None
    outcome: TrialOutcome | None = None  # set when there is nothing to evaluate


def prepare_trial(study: Any, cfg: SearchConfig, run: RunDir, status: Status) -> Prepared | None:
    """Ask for a trial and build its spec; None for a duplicate (told at once, not counted)."""
    space, models = cfg.resolved_space(), cfg.resolved_models()
    trial = study.ask()
    try:
        layers = walk(space, models, OptunaChooser(trial))
        if _tell_duplicate(study, trial):
            status.duplicates += 1
            return None
        spec = to_spec(space, models, layers, name=f"{cfg.name}-trial-{trial.number}")
    except Infeasible as exc:
        return Prepared(trial, None, TrialOutcome("infeasible", str(exc)))
    from archon_cli.fsutil import atomic_write_text

    atomic_write_text(run.trial_dir(trial.number) / "pipeline.yaml", spec.to_yaml())
    return Prepared(trial, spec)


def rung_snapshot(study: Any, rungs: list[int], n_examples: int, exclude: int) -> dict[int, list[float]]:
    """Scores other trials reached at each rung: the competitors for successive halving."""
    from archon_cli.search.objective import rung_sizes

    sizes = rung_sizes(rungs, n_examples)
    out: dict[int, list[float]] = {size: [] for size in sizes}
    for t in study.get_trials(deepcopy=False):
        if t.number != exclude:
            for size in sizes:
                if str(size) in t.user_attrs.get("rung_scores", {}):
                    out[size].append(float(t.user_attrs["rung_scores"][str(size)]))
    return out


def _one_trial(study: Any, cfg: SearchConfig, run: RunDir, client: Any, interrupt: Interrupt,
               examples: list[Any], scorer: Any, status: Status, on_status: Callable[[Status], None]) -> None:
    prepared = prepare_trial(study, cfg, run, status)
    if prepared is None:
        return
    trial, spec = prepared.trial, prepared.spec
    status.running, status.running_desc = trial.number, describe_spec(spec)
    on_status(status)
    outcome = prepared.outcome
    if spec is not None:

        def on_rung(size: int, score: float) -> None:
            status.last = f"trial {trial.number}: {score:.3f} on {size} examples"
            on_status(status)

        def drive(coro: Any) -> Any:
            if cfg.budget.wall_s is not None:
                coro = asyncio.wait_for(coro, timeout=max(0.0, cfg.budget.wall_s - status.elapsed))
            try:
                return interrupt.run(coro)
            except TimeoutError:
                raise BudgetExceeded(f"wall-clock budget spent ({cfg.budget.wall_s:.0f}s) "
                                     f"during trial {trial.number}") from None

        competitors = rung_snapshot(study, cfg.search.fidelity.rungs, len(examples), trial.number)
        outcome = run_trial(spec, examples, scorer, client, run=drive, rungs=cfg.search.fidelity.rungs,
                            eta=cfg.search.fidelity.eta, rung_competitors=lambda size: competitors.get(size, []),
                            calls_budget=cfg.budget.calls_per_query, on_rung=on_rung)
    assert outcome is not None
    finish_trial(study, trial, outcome, cfg, run, status, wrote_spec=spec is not None)


def describe_spec(spec: PipelineSpec | None) -> str:
    return "" if spec is None else " → ".join(f"{layer[0].type}×{len(layer)}" for layer in spec.layers)


def finish_trial(study: Any, trial: Any, outcome: TrialOutcome, cfg: SearchConfig, run: RunDir, status: Status,
                 *, wrote_spec: bool, node: str | None = None) -> None:
    """Write the trial's files and tell the study; the one place a result enters the run."""
    from optuna.trial import TrialState

    single = len(cfg.search.objectives) == 1
    if node is not None:
        trial.set_user_attr("node", node)
    _record(study, trial, outcome, cfg, run, wrote_spec)
    if single:
        for size, score in outcome.rung_scores.items():
            trial.report(score, step=int(size))
    if outcome.state == "complete":
        values = [outcome.accuracy or 0.0] + [outcome.cost(o) for o in cfg.search.objectives[1:]]
        study.tell(trial, values)
    elif outcome.state == "fail":
        study.tell(trial, state=TrialState.FAIL)
    else:
        if single and outcome.state == "infeasible":
            trial.report(0.0, step=0)  # TPE learns to avoid it
        study.tell(trial, state=TrialState.PRUNED)
    if status.running == trial.number:
        status.running = None
    status.last = f"trial {trial.number}: {outcome.state}" + (
        f" {outcome.accuracy:.3f} on {outcome.n_examples}" if outcome.accuracy is not None else "") + (
        f" ({outcome.reason})" if outcome.reason else "")
    run.log(status.last + f" params={trial.params}" + (f" node={node}" if node else ""))
    finalize(run, study, cfg, plots=False)


def _record(study: Any, trial: Any, outcome: TrialOutcome, cfg: SearchConfig, run: RunDir, wrote_spec: bool) -> None:
    u: Usage = outcome.usage
    n = max(1, outcome.n_examples)
    budget = cfg.budget.calls_per_query
    attrs: dict[str, Any] = {
        "outcome": outcome.state, "reason": outcome.reason, "n_examples": outcome.n_examples,
        "calls_per_query": outcome.calls_per_query, "calls": u.calls, "cache_hits": u.cache_hits,
        "prompt_tokens": u.prompt_tokens, "completion_tokens": u.completion_tokens,
        "cached_prompt_tokens": u.cached_prompt_tokens, "cached_completion_tokens": u.cached_completion_tokens,
        "engine_tokens": engine_tokens(u), "usd": u.usd, "latency_s": u.latency_s,
        "tokens_per_query": (u.prompt_tokens + u.completion_tokens) / n, "usd_per_query": u.usd / n,
        "rung_scores": outcome.rung_scores,
    }
    if budget is not None:
        trial.set_constraint("calls_per_query", float(outcome.calls_per_query - budget))
    if outcome.accuracy is not None:
        attrs["accuracy"] = outcome.accuracy
    for key, val in attrs.items():
        trial.set_user_attr(key, val)
    if not wrote_spec and outcome.state != "infeasible":
        return
    tdir = run.trial_dir(trial.number)
    metrics = outcome.metrics() | {"trial": trial.number, "params": trial.params}
    if wrote_spec:
        run.write_jsonl(tdir / "predictions.jsonl", outcome.predictions)
    if outcome.traceback:
        from archon_cli.fsutil import atomic_write_text

        atomic_write_text(tdir / "traceback.txt", outcome.traceback)
    run.write_json(tdir / "metrics.json", metrics)


def finalize(run: RunDir, study: Any, cfg: SearchConfig, plots: bool = True) -> None:
    """trials.csv, best.yaml, pareto.csv (and plots): views of the study, rewritten whole."""
    from archon_cli.search.results import write_plots, write_tables

    write_tables(run, study, cfg)
    if plots:
        write_plots(run, study, cfg)


def default_runs_dir(cfg: SearchConfig, override: Path | None) -> Path:
    return override if override is not None else Path(cfg.runs_dir)
