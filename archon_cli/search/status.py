"""The numbers a search keeps while it runs: what the progress view shows, and the totals of
finished trials read from the study."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from archon_cli.search.records import counted


@dataclass
class Running:
    number: int
    architecture: str
    examples_done: int = 0
    examples_total: int = 0
    calls: int = 0  # engine calls asked for so far (attempts)
    in_flight: int = 0  # of which waiting for an answer now


@dataclass
class Status:
    """What the progress view shows; updated at every poll."""

    total: int
    slots: int = 1
    done: int = 0
    running: dict[int, Running] = field(default_factory=dict)
    best: float | None = None
    best_trial: int | None = None
    calls: int = 0
    cache_hits: int = 0
    engine_tokens: int = 0  # finished trials and the finished examples of running ones
    usd: float = 0.0
    started: float = field(default_factory=time.monotonic)
    budget_tokens: int | None = None
    budget_usd: float | None = None
    budget_wall_s: float | None = None
    stop_reason: str | None = None
    duplicates: int = 0  # proposals of seen architectures in a row
    durations: list[float] = field(default_factory=list)  # wall of each trial evaluated this session
    failures: list[str] = field(default_factory=list)  # reasons of this session's failed trials
    evaluated: int = 0  # trials this session that ran (not infeasible, not duplicates)
    last: str = ""
    tokens_at_start: int | None = None  # engine tokens of the run when this session began

    @property
    def failure(self) -> str | None:
        """The shared cause when every trial this session ran failed, else None."""
        if not self.evaluated or len(self.failures) < self.evaluated:
            return None
        return max(set(self.failures), key=self.failures.count)

    @property
    def one_kind_of_failure(self) -> bool:
        """Every failure has the same kind: the text before its first colon (`KeyError`,
        `llm call failed`), since the rest often names the trial, a request id or a prompt."""
        return len({reason.split(":", 1)[0][:80] for reason in self.failures}) == 1

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def wall_left_s(self) -> float | None:
        return max(0.0, self.budget_wall_s - self.elapsed) if self.budget_wall_s is not None else None

    @property
    def eta_s(self) -> float | None:
        """The soonest of: the trials left at this session's mean trial wall (÷ slots), the token
        budget at this session's token rate, the wall budget. None before anything is known."""
        estimates = []
        if self.durations:
            mean = sum(self.durations) / len(self.durations)
            estimates.append(mean * max(0, self.total - self.done) / max(1, self.slots))
        if self.budget_tokens is not None and self.session_tokens > 0:
            rate = self.session_tokens / max(self.elapsed, 1e-9)
            estimates.append(max(0, self.budget_tokens - self.engine_tokens) / rate)
        if self.wall_left_s is not None:
            estimates.append(self.wall_left_s)
        return max(0.0, min(estimates)) if estimates else None

    @property
    def session_tokens(self) -> int:
        """Engine tokens spent since this session started (a resumed run starts with some)."""
        return self.engine_tokens - (self.tokens_at_start or 0)


@dataclass
class Totals:
    done: int
    calls: int
    cache_hits: int
    engine_tokens: int
    usd: float
    best: float | None
    best_trial: int | None


def study_totals(study: Any) -> Totals:
    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state.name == "COMPLETE" and t.values]
    top = max(complete, key=lambda t: (t.values[0], -t.user_attrs.get("calls_per_query", 0)), default=None)
    return Totals(done=sum(1 for t in trials if counted(t)),
                   calls=sum(int(t.user_attrs.get("calls", 0)) for t in trials),
                   cache_hits=sum(int(t.user_attrs.get("cache_hits", 0)) for t in trials),
                   engine_tokens=sum(int(t.user_attrs.get("engine_tokens", 0)) for t in trials),
                   usd=sum(float(t.user_attrs.get("usd", 0.0)) for t in trials),
                   best=top.values[0] if top is not None else None,
                   best_trial=top.number if top is not None else None)
