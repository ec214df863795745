"""Server metrics in the Prometheus text exposition format (version 0.0.4).

Written by hand: prometheus_client is not among the project's dependencies, and a few counters
and one histogram do not justify one. Everything is updated from the server's event loop only.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

Labels = tuple[tuple[str, str], ...]

LATENCY_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

COUNTERS = {
    "archon_serve_requests_total": "Requests answered, by model and HTTP status.",
    "archon_serve_errors_total": "Requests that failed, by kind (malformed_json, unsupported, unknown_model, "
                                 "unauthorized, queue_full, client_disconnected, pipeline_failed, ...).",
    "archon_serve_llm_calls_total": "LLM calls the pipelines made (cache hits included).",
    "archon_serve_engine_calls_total": "LLM calls that reached an engine.",
    "archon_serve_cache_hits_total": "LLM calls served from the cache or shared with an identical call in flight.",
    "archon_serve_prompt_tokens_total": "Prompt tokens of every LLM call.",
    "archon_serve_completion_tokens_total": "Completion tokens of every LLM call.",
}
HISTOGRAM = ("archon_serve_request_seconds", "Latency of answered chat completions.")
GAUGE = ("archon_serve_requests_in_flight", "Requests admitted and not yet answered.")


@dataclass
class _Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS_S) + 1))
    total: float = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(LATENCY_BUCKETS_S, value)] += 1
        self.total += value


class Metrics:
    def __init__(self) -> None:
        self._counters: dict[str, dict[Labels, float]] = {name: {} for name in COUNTERS}
        self._latency: dict[Labels, _Histogram] = {}
        self.in_flight = 0

    def inc(self, name: str, by: float = 1.0, **labels: str) -> None:
        series = self._counters[name]
        key = tuple(sorted(labels.items()))
        series[key] = series.get(key, 0.0) + by

    def value(self, name: str, **labels: str) -> float:
        return self._counters[name].get(tuple(sorted(labels.items())), 0.0)

    def observe_latency(self, seconds: float, **labels: str) -> None:
        self._latency.setdefault(tuple(sorted(labels.items())), _Histogram()).observe(seconds)

    def render(self) -> str:
        lines = []
        for name, help_text in COUNTERS.items():
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
            lines += [f"{name}{_labels(k)} {_num(v)}" for k, v in sorted(self._counters[name].items())]
        name, help_text = HISTOGRAM
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
        for key, hist in sorted(self._latency.items()):
            cumulative = 0
            for bound, n in zip((*LATENCY_BUCKETS_S, float("inf")), hist.counts, strict=True):
                cumulative += n
                le = "+Inf" if bound == float("inf") else _num(bound)
                lines.append(f"{name}_bucket{_labels((*key, ('le', le)))} {cumulative}")
            lines.append(f"{name}_sum{_labels(key)} {_num(hist.total)}")
            lines.append(f"{name}_count{_labels(key)} {cumulative}")
        name, help_text = GAUGE
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {self.in_flight}"]
        return "\n".join(lines) + "\n"


def _labels(key: Labels) -> str:
    if not key:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in key)
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))
