"""Usage meter: one record per LLM call, rolled up per layer, per example and per pipeline."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class CallRecord:
    example_id: str
    layer: int
    component: str  # "L1.ranker" style, stable across runs
    model: str  # alias
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    usd: float
    cached: bool


@dataclass
class Usage:
    calls: int = 0  # every call a component asked for, cache hits included
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # Tokens and USD of every call: what the architecture costs, whatever the cache served.
    usd: float = 0.0
    # Of which served from the cache (not spent on an engine this time).
    cached_prompt_tokens: int = 0
    cached_completion_tokens: int = 0
    latency_s: float = 0.0  # summed latency of engine calls (cache hits cost none)
    fallbacks: dict[str, int] = field(default_factory=dict)
    # Engine calls started and not yet ended: a live meter's reading, not part of any total.
    in_flight: int = field(default=0, compare=False)

    def add_call(self, rec: CallRecord) -> None:
        self.calls += 1
        self.cache_hits += rec.cached
        self.prompt_tokens += rec.prompt_tokens
        self.completion_tokens += rec.completion_tokens
        self.usd += rec.usd
        self.latency_s += rec.latency_s
        if rec.cached:
            self.cached_prompt_tokens += rec.prompt_tokens
            self.cached_completion_tokens += rec.completion_tokens

    def add_fallbacks(self, component: str, counts: dict[str, int]) -> None:
        for reason, n in counts.items():
            key = f"{component}.{reason}"
            self.fallbacks[key] = self.fallbacks.get(key, 0) + n

    def merge(self, other: Usage) -> None:
        self.calls += other.calls
        self.cache_hits += other.cache_hits
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.usd += other.usd
        self.cached_prompt_tokens += other.cached_prompt_tokens
        self.cached_completion_tokens += other.cached_completion_tokens
        self.latency_s += other.latency_s
        for key, n in other.fallbacks.items():
            self.fallbacks[key] = self.fallbacks.get(key, 0) + n

    @property
    def engine_calls(self) -> int:
        return self.calls - self.cache_hits

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["in_flight"]
        return data | {"engine_calls": self.engine_calls}


def rollup(records: list[CallRecord], key: str) -> dict[Any, Usage]:
    """Group call records by one of their fields (`layer`, `example_id`, `component`, `model`)."""
    out: dict[Any, Usage] = {}
    for rec in records:
        out.setdefault(getattr(rec, key), Usage()).add_call(rec)
    return out
