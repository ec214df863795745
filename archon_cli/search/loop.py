"""The search loop: ask → build spec → submit to an executor → tell, under budgets.

One loop for every executor (in-process or Ray): it alone asks and tells the study and writes
the run dir, keeps up to `executor.slots` trials in flight, and every `POLL_S` looks at Ctrl-C,
the budgets and finished trials. Whatever stops the search (trials done, a budget, Ctrl-C), the
trials in flight are cancelled, recorded as interrupted with what they spent, and enqueued
again, so a resume re-runs them. A run killed at any moment loses at most the trials in flight:
on resume, trials left RUNNING are marked FAIL (`interrupted`) and their params re-enqueued.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from archon_cli.components.describe import describe_spec
from archon_cli.config.search import SearchConfig
from archon_cli.fsutil import storage_failure
from archon_cli.runs import RunDir, env_info
from archon_cli.search.executors import Finished, TrialExecutor
from archon_cli.search.objective import TrialJob, TrialOutcome, engine_tokens, rung_sizes
from archon_cli.search.records import (
    CUT_BY_WALL,
    check_stored_specs,
    describe_outcome,
    record_interrupted,
    record_outcome,
    recover_interrupted,
    tell_duplicate,
    trial_state,
    write_spec,
    write_stop,
)
from archon_cli.search.space import Infeasible, OptunaChooser, to_spec, walk
from archon_cli.search.split import split
from archon_cli.search.status import Running, Status, Totals, study_totals
from archon_cli.search.study import grid_points, name_metrics, open_study, seed_architectures
from archon_cli.tasks.base import Example, Scorer
from archon_cli.tasks.loading import load_task

POLL_S = 0.25  # how often the loop looks at Ctrl-C, budgets and finished trials
MAX_DUPLICATES = 25  # repeats in a row before the space counts as exhausted
# The first trials of a run all failing for one reason (a missing key, a dead endpoint) means
# every later one would too: stop instead of burning the budget.
FAIL_FAST = 3


class Interrupt:
    """Ctrl-C during a search sets a flag the loop sees at its next poll (never mid-write);
    the loop then cancels the trials in flight."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def _handle(self, signum: int, frame: Any) -> None:
        self.requested = True

    def __enter__(self) -> Interrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def check(self) -> None:
        if self.requested:
            raise KeyboardInterrupt


def run_search(cfg: SearchConfig, run: RunDir, executor: TrialExecutor, *, resume: bool,
               on_status: Callable[[Status], None] = lambda s: None) -> Status:
    """Run (or continue) the search in `run` on `executor`; returns the final status (stop reason set)."""
    examples, scorer = load_task(cfg.task.dataset, cfg.task.scorer, limit=cfg.task.size, seed=cfg.task.seed)
    search_examples, held_out = split(examples, cfg.task)
    study = open_study(run, cfg)
    name_metrics(study, cfg)
    if resume:
        n = recover_interrupted(study, run)
        check_stored_specs(study, run, cfg)
        run.log(f"resumed; {n} interrupted trial(s) re-enqueued")
    else:
        run.write_config(cfg)
        run.write_json(run.env_json, env_info())
        _enqueue_initial(study, cfg, run)
        run.log(f"search started: {len(search_examples)} search examples, {len(held_out)} held out")
    status = Status(total=cfg.search.trials, slots=executor.slots, budget_tokens=cfg.budget.total_tokens,
                    budget_usd=cfg.budget.usd, budget_wall_s=cfg.budget.wall_s)
    search = _Loop(cfg, run, study, executor, status, tuple(search_examples), scorer, on_status)
    try:
        with executor, Interrupt() as interrupt:
            try:
                search.run(interrupt)
            except KeyboardInterrupt:
                status.stop_reason = "interrupted"
                raise
            finally:
                search.cancel_in_flight()
                write_stop(study, run, cfg, status.stop_reason or "stopped", executor.engines(), executor.env())
    except Exception as exc:  # Optuna's SQLAlchemy errors on a full disk: say it is study.db
        if (failure := storage_failure(exc, run.study_db)) is not None:
            raise failure from None
        raise
    return status


@dataclass
class _Loop:
    cfg: SearchConfig
    run_dir: RunDir
    study: Any
    executor: TrialExecutor
    status: Status
    examples: tuple[Example, ...]
    scorer: Scorer
    on_status: Callable[[Status], None]
    trials: dict[int, Any] = field(default_factory=dict)  # in flight: number → Optuna trial
    submitted_at: dict[int, float] = field(default_factory=dict)
    totals: Totals | None = None  # of finished trials; None = read the study again
    held: dict[int, list[Any]] = field(default_factory=dict)  # duplicates of a trial in flight

    def run(self, interrupt: Interrupt) -> None:
        self.refresh()
        while True:
            interrupt.check()
            reason = self.over_budget()
            if reason is not None and not (reason.startswith("wall-clock") and self.wall_cut_retries()):
                self.status.stop_reason = reason
                return
            if reason is None:
                self.fill()
            if not self.trials:
                self.status.stop_reason = reason or self.exhausted() or "trials done"
                return
            for finished in self.executor.wait(POLL_S):
                self.finish(finished)
            self.refresh()
            s = self.status
            if s.evaluated >= FAIL_FAST and s.failure is not None and s.one_kind_of_failure:
                s.stop_reason = f"the first {s.evaluated} trials all failed: {s.failure}"
                return

    def fill(self) -> None:
        """Submit trials while slots are free and more are wanted; infeasible ones end at once."""
        s = self.status
        while self.executor.free_slots() > 0 and s.done + len(self.trials) < s.total and not self.exhausted():
            trial = self.study.ask()
            try:
                layers = walk(self.cfg.resolved_space(), self.cfg.resolved_models(), OptunaChooser(trial))
                if (twin := self.running_twin(trial)) is not None:
                    self.held.setdefault(twin, []).append(trial)  # told when its twin is
                    s.duplicates += 1
                    continue
                if tell_duplicate(self.study, trial):
                    s.duplicates += 1
                    self.totals = None
                    continue
                s.duplicates = 0
                spec = to_spec(self.cfg.resolved_space(), self.cfg.resolved_models(), layers,
                               name=f"{self.cfg.name}-trial-{trial.number}")
            except Infeasible as exc:
                s.duplicates = 0
                self.tell(trial, TrialOutcome("infeasible", str(exc)))
                continue
            write_spec(self.run_dir, trial, spec)
            job = TrialJob(trial.number, spec, self.examples, self.scorer, tuple(self.cfg.search.fidelity.rungs),
                           self.cfg.search.fidelity.eta, self.competitors(trial.number),
                           self.cfg.budget.calls_per_query, trace=self.cfg.search.trace)
            self.executor.submit(job)
            self.trials[trial.number] = trial
            self.submitted_at[trial.number] = time.monotonic()
            s.running[trial.number] = Running(trial.number, describe_spec(spec), 0, len(self.examples))
            self.on_status(s)

    def finish(self, finished: Finished) -> None:
        number = finished.job.number
        trial = self.trials.pop(number)
        started = self.submitted_at.pop(number)
        self.status.running.pop(number, None)
        if finished.outcome.state != "infeasible":
            self.status.durations.append(time.monotonic() - started)
            self.status.evaluated += 1
            if finished.outcome.state == "fail":
                self.status.failures.append(finished.outcome.reason)
        self.tell(trial, finished.outcome, finished.node)
        for twin in self.held.pop(number, []):
            if not tell_duplicate(self.study, twin):  # its twin failed: nothing to copy
                twin.set_user_attr("duplicate_of", number)
                twin.set_user_attr("outcome", "duplicate")
                twin.set_user_attr("reason", f"duplicate of trial {number}, which failed (not run, not counted)")
                self.study.tell(twin, state=trial_state("FAIL"))
        self.totals = None

    def running_twin(self, trial: Any) -> int | None:
        """The trial in flight with the same params: a sequential search would have seen its result."""
        return next((n for n, t in self.trials.items() if t.params == trial.params), None)

    def tell(self, trial: Any, outcome: TrialOutcome, node: str | None = None) -> None:
        record_outcome(self.study, trial, outcome, self.cfg, self.run_dir, node)
        self.status.last = describe_outcome(trial.number, outcome)
        self.totals = None
        self.refresh()

    def wall_cut_retries(self) -> bool:
        """Retries of trials the wall budget cut are in flight: they finish (nothing new starts),
        so a trial longer than the budget ends on a resume instead of being cut every time."""
        return any(t.user_attrs.get(CUT_BY_WALL) for t in self.trials.values())

    def cancel_in_flight(self) -> None:
        by_wall = (self.status.stop_reason or "").startswith("wall-clock")
        for progress in self.executor.cancel_all():
            record_interrupted(self.study, self.run_dir, progress.number, progress.usage, by_wall)
        for twins in self.held.values():
            for twin in twins:
                record_interrupted(self.study, self.run_dir, twin.number)
        self.held.clear()
        self.trials.clear()
        self.status.running.clear()

    def competitors(self, exclude: int) -> dict[int, tuple[float, ...]]:
        """Scores other trials reached at each rung: the competitors for successive halving."""
        sizes = rung_sizes(self.cfg.search.fidelity.rungs, len(self.examples))
        out: dict[int, list[float]] = {size: [] for size in sizes}
        for t in self.study.get_trials(deepcopy=False):
            if t.number != exclude:
                for size in sizes:
                    if str(size) in t.user_attrs.get("rung_scores", {}):
                        out[size].append(float(t.user_attrs["rung_scores"][str(size)]))
        return {size: tuple(scores) for size, scores in out.items()}

    def exhausted(self) -> str | None:
        if self.status.duplicates >= MAX_DUPLICATES:
            return f"the sampler proposed {MAX_DUPLICATES} seen architectures in a row"
        return None

    def over_budget(self) -> str | None:
        b, s = self.cfg.budget, self.status
        if b.total_tokens is not None and s.engine_tokens >= b.total_tokens:
            return f"token budget spent ({s.engine_tokens} ≥ {b.total_tokens})"
        if b.usd is not None and s.usd >= b.usd:
            return f"USD budget spent (${s.usd:.4f} ≥ ${b.usd})"
        if b.wall_s is not None and s.elapsed >= b.wall_s:
            return f"wall-clock budget spent ({s.elapsed:.0f}s ≥ {b.wall_s:.0f}s)"
        return None

    def refresh(self) -> None:
        """Totals of the finished trials (read from the study when one was told) plus what the
        running ones have spent so far."""
        s = self.status
        if self.totals is None:
            self.totals = study_totals(self.study)
        s.done, s.best, s.best_trial = self.totals.done, self.totals.best, self.totals.best_trial
        s.calls, s.cache_hits, s.engine_tokens, s.usd = (self.totals.calls, self.totals.cache_hits,
                                                         self.totals.engine_tokens, self.totals.usd)
        for number, progress in self.executor.progress().items():
            u = progress.usage
            s.calls, s.cache_hits, s.usd = s.calls + u.calls, s.cache_hits + u.cache_hits, s.usd + u.usd
            s.engine_tokens += engine_tokens(u)
            if (running := s.running.get(number)) is not None:
                running.examples_done, running.calls, running.in_flight = (progress.examples_done, u.calls,
                                                                           u.in_flight)
                if progress.rung is not None:
                    s.last = f"trial {number}: {progress.rung[1]:.3f} on {progress.rung[0]} examples"
        if s.tokens_at_start is None:
            s.tokens_at_start = s.engine_tokens
        self.on_status(s)


def _enqueue_initial(study: Any, cfg: SearchConfig, run: RunDir) -> None:
    space, models, calls_budget = cfg.resolved_space(), cfg.resolved_models(), cfg.budget.calls_per_query
    queued: list[dict[str, Any]] = []
    if cfg.search.seed_architectures:
        for seed in seed_architectures(space, models, calls_budget):
            study.enqueue_trial(seed.params, user_attrs={"seeded_from": seed.label})
            queued.append(seed.params)
            run.log(f"enqueued seed architecture {seed.label} ({seed.calls} calls/query)")
    if cfg.search.sampler == "grid":
        for params in grid_points(space, models, calls_budget, cfg.search.seed):
            if params not in queued and len(queued) < cfg.search.trials:
                study.enqueue_trial(params)
                queued.append(params)
