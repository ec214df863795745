"""A pipeline's trace: per example and layer, what each component made of its input.

The pipeline calls its `tracer` (any callable taking a `LayerTrace`) once per example and
layer, after the layer's components have all returned, or once with `error` set when a call
failed the example in that layer. A trace is data: the cli renders it (cli/trace_view.py) and
writes it as JSONL, one `LayerTrace.to_dict()` per line:

    {"example": "q1", "layer": 2, "query": null, "error": null,
     "components": [{"id": "L2.0.ranker", "type": "ranker",
                     "candidates": [{"text": "...", "critique": "..."}],
                     "details": {"ranking": [2, 1, 3], "kept": 1}, "fallbacks": {},
                     "calls": [{"model": "m", "sample": 0, "messages": [...], "response": "...",
                                "cached": false}]}],
     "output": [{"text": "...", "critique": "..."}]}

`query` is the example's last user turn, on its layer-0 record only. `candidates` are what a
component returned; `output` is the layer's candidates as the next layer reads them. `details`
are what the component decided (components/state.py `Notes.detail`): candidate positions in
them are 1-based, in the order the component received its candidates. `calls` are the
component's LLM calls (the messages sent, the reply) and sandbox runs, in the order it made them.
With no tracer the pipeline builds none of this.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from archon_cli.components.state import Candidate, ProgramRun, SandboxRun
from archon_cli.llm.types import Completion, Request


def candidate_dict(cand: Candidate) -> dict[str, Any]:
    out: dict[str, Any] = {"text": cand.text}
    if cand.critique is not None:
        out["critique"] = cand.critique
    if cand.tests_total is not None:
        out |= {"tests_passed": cand.tests_passed, "tests_total": cand.tests_total}
    return out


def call_dict(request: Request | SandboxRun | ProgramRun, answer: Completion | str) -> dict[str, Any]:
    """One step a component asked for and its answer, as the trace keeps it."""
    if isinstance(request, Request):
        done = answer if isinstance(answer, Completion) else None
        return {"model": request.model, "sample": request.sample,
                "messages": [{"role": m.role, "content": m.content} for m in request.messages],
                "response": done.text if done is not None else str(answer),
                "cached": done.cached if done is not None else False}
    if isinstance(request, ProgramRun):
        return {"sandbox": "program", "program": request.program, "stdout": str(answer)}
    return {"sandbox": "tests", "program": request.program, "tests": list(request.tests), "passed": str(answer)}


@dataclass(frozen=True)
class ComponentTrace:
    id: str  # "L1.0.critic": layer, position in the layer, type
    type: str
    candidates: tuple[Candidate, ...]
    details: dict[str, Any] = field(default_factory=dict)
    fallbacks: dict[str, int] = field(default_factory=dict)
    calls: tuple[dict[str, Any], ...] = ()

    @property
    def llm_calls(self) -> int:
        return sum(1 for c in self.calls if "model" in c)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "candidates": [candidate_dict(c) for c in self.candidates],
                "details": self.details, "fallbacks": self.fallbacks, "calls": list(self.calls)}


@dataclass(frozen=True)
class LayerTrace:
    example: str
    layer: int
    components: tuple[ComponentTrace, ...]
    output: tuple[Candidate, ...]
    query: str | None = None  # layer 0 only
    error: str | None = None  # the call that failed the example here (redacted)

    def to_dict(self) -> dict[str, Any]:
        return {"example": self.example, "layer": self.layer, "query": self.query, "error": self.error,
                "components": [c.to_dict() for c in self.components],
                "output": [candidate_dict(c) for c in self.output]}


class TraceRecorder:
    """A tracer that keeps every layer trace; `records` gives them back grouped by example, in
    the order of the ids asked for (examples run concurrently, so they arrive interleaved)."""

    def __init__(self) -> None:
        self._by_example: dict[str, list[LayerTrace]] = {}

    def __call__(self, step: LayerTrace) -> None:
        self._by_example.setdefault(step.example, []).append(step)

    def records(self, ids: Sequence[str] | None = None) -> list[LayerTrace]:
        order = dict.fromkeys(ids) if ids is not None else dict.fromkeys(self._by_example)
        return [step for ex in order for step in self._by_example.get(ex, [])]


def to_jsonl(records: Sequence[LayerTrace]) -> str:
    """One JSON object per line, one line per example and layer."""
    return "".join(json.dumps(r.to_dict(), ensure_ascii=False, default=str) + "\n" for r in records)
