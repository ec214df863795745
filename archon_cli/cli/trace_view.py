"""A pipeline trace as plain text for the terminal (no rich markup: model text is shown as is).

One block per example, indented per layer and component; candidates are numbered by their
position in their layer's output, the numbering the next layer's ranking and verdicts use. A
candidate shown in an earlier layer is named, not repeated (`same as layer 1 [3]`: same text and
critique; `same text as layer 0 [2]`: its critique, new, follows). Lines wrap at spaces only,
never inside a word.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from archon_cli.components.state import Candidate
from archon_cli.fsutil import atomic_write_text
from archon_cli.trace import ComponentTrace, LayerTrace, to_jsonl

STEP = 2  # spaces of indentation per level

TRACE_HELP = ("print how each answer was made to stderr: every layer's candidates, critiques, ranking, "
              "verdicts or scores and fused texts, per example (plain text)")
TRACE_FILE_HELP = "write the same trace here as JSONL: one record per example and layer (README, \"Traces\")"


def terminal_width() -> int:
    return max(40, shutil.get_terminal_size((100, 24)).columns)


def write_trace(path: Path, records: Sequence[LayerTrace]) -> None:
    atomic_write_text(path, to_jsonl(records))


def render_trace(records: Sequence[LayerTrace], width: int | None = None) -> str:
    """Every example's trace, in the order of `records` (grouped by example, layers in order)."""
    width = width or terminal_width()
    lines: list[str] = []
    current: str | None = None
    seen: dict[Candidate | str, str] = {}  # a candidate, or its text → where it was shown last
    last: LayerTrace | None = None
    for rec in records:
        if rec.example != current:
            if last is not None:
                lines += [*_ending(last, width), ""]
            current, seen = rec.example, {}
            lines.append(f"example {rec.example}")
        if rec.query is not None:
            lines += _wrap(rec.query, "query: ", STEP, width)
        lines.append(" " * STEP + f"layer {rec.layer}")
        if rec.error is not None:
            lines += _wrap(rec.error, "failed: ", 2 * STEP, width)
        position = 0
        for comp in rec.components:
            lines += _component(comp, position, seen, width)
            position += len(comp.candidates)
        here: dict[Candidate | str, str] = {}
        for i, cand in enumerate(rec.output, 1):
            here.setdefault(cand, f"layer {rec.layer} [{i}]")
            here.setdefault(cand.text, f"layer {rec.layer} [{i}]")
        seen |= here
        last = rec
    if last is not None:
        lines += _ending(last, width)
    return "\n".join(lines) + ("\n" if lines else "")


def _component(comp: ComponentTrace, position: int, seen: dict[Candidate | str, str], width: int) -> list[str]:
    indent = 2 * STEP
    head = f"{comp.type} {comp.id.rsplit('.', 1)[0]}"
    n_llm = comp.llm_calls
    n_sandbox = len(comp.calls) - n_llm
    cached = sum(1 for c in comp.calls if c.get("cached"))
    counts = []
    if n_llm:
        counts.append(f"{n_llm} call{'s' if n_llm != 1 else ''}" + (f" ({cached} cached)" if cached else ""))
    if n_sandbox:
        counts.append(f"{n_sandbox} sandbox run{'s' if n_sandbox != 1 else ''}")
    lines = [" " * indent + " · ".join([head, *counts])]
    inner = indent + STEP
    for key, value in comp.details.items():
        lines += _detail(key, value, comp.details, inner, width)
    if comp.fallbacks:
        lines.append(" " * inner + "fallbacks: " + ", ".join(f"{k}={v}" for k, v in sorted(comp.fallbacks.items())))
    for i, cand in enumerate(comp.candidates, position + 1):
        label = f"[{i}] "
        hang = inner + len(label)
        if (same := seen.get(cand)) is not None:
            lines.append(" " * inner + label + f"same as {same}")
            continue
        if (same_text := seen.get(cand.text)) is not None:
            lines.append(" " * inner + label + f"same text as {same_text}")
        else:
            lines += _wrap(cand.text, label, inner, width)
        if cand.critique is not None:
            lines += _wrap(cand.critique, "critique: ", hang, width)
        if cand.tests_total is not None:
            lines.append(" " * hang + f"tests passed: {cand.tests_passed}/{cand.tests_total}")
    return lines


def _numbered(values: Sequence[Any], fmt: Any = str) -> str:
    return " · ".join(f"[{i}] {fmt(v)}" for i, v in enumerate(values, 1))


def _detail(key: str, value: Any, details: dict[str, Any], indent: int, width: int) -> list[str]:
    if key == "kept":
        return []  # shown with the ranking
    if key == "ranking":
        text = " > ".join(f"[{i}]" for i in value)
        if "kept" in details:
            text += f", top {details['kept']} kept"
        return _wrap(text, "ranking: ", indent, width)
    if key == "verdicts":
        return _wrap(_numbered(value, lambda v: "correct" if v else "wrong"), "verdicts: ", indent, width)
    if key == "scores":
        return _wrap(_numbered(value, lambda v: format(v, "g")), "scores: ", indent, width)
    if key == "answers":
        return _wrap(_numbered(value, lambda v: repr(v) if v == "" else v), "answers: ", indent, width)
    if key == "tests":
        lines = [" " * indent + "tests:"]
        for test in value:
            lines += _wrap(str(test), "- ", indent + STEP, width)
        return lines
    return _wrap(str(value), f"{key.replace('_', ' ')}: ", indent, width)


def _ending(rec: LayerTrace, width: int) -> list[str]:
    if rec.error is not None:
        return [" " * STEP + f"no answer: layer {rec.layer} failed"]
    if not rec.output:
        return [" " * STEP + "no answer: the last layer produced no candidate"]
    return _wrap(rec.output[0].text, "answer: ", STEP, width)


def _wrap(text: str, prefix: str, indent: int, width: int) -> list[str]:
    """`prefix` then `text` at `indent`, continuation lines aligned after the prefix; each line of
    the text wrapped at spaces (a word longer than the line stays whole)."""
    first = " " * indent + prefix
    rest = " " * len(first)
    out: list[str] = []
    for n, line in enumerate(text.strip().splitlines() or [""]):
        lead = first if n == 0 else rest
        if not line.strip():
            out.append("")
            continue
        out += textwrap.wrap(line.rstrip(), width, initial_indent=lead, subsequent_indent=rest,
                             break_long_words=False, break_on_hyphens=False) or [lead.rstrip()]
    return out
