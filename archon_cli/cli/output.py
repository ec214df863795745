"""Shared rendering for commands (rich is imported lazily).

Every console here prints text as text: no rich markup, no emoji codes, no highlighting, so a
model's answer, a path or an error message with `[/x]` or `pip install 'archon-cli[vllm]'` in it
prints verbatim. Emphasis goes through `styled` (rich Text with styles), never through markup.
Lines soft-wrap: the terminal folds a long path or command, rich never cuts it with a newline.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from archon_cli.evaluate import Evaluation
    from archon_cli.llm.usage import Usage


def console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, markup=False, emoji=False, soft_wrap=True)


def styled(*parts: str | tuple[str, str]) -> Text:
    """Plain text with styled pieces: `styled(("error:", "bold red"), " ", message)`."""
    from rich.text import Text

    return Text.assemble(*parts)


def usage_line(u: Usage, wall_s: float | None = None) -> str:
    parts = [
        f"calls {u.calls} (engine {u.engine_calls}, cache hits {u.cache_hits})",
        f"tokens {u.prompt_tokens} in / {u.completion_tokens} out",
        # summed over calls that overlap in time: not how long the command took (that is `wall`)
        f"summed call latency {u.latency_s:.1f}s",
    ]
    if wall_s is not None:
        parts.append(f"wall {wall_s:.1f}s")
    parts.append(f"${u.usd:.4f}")
    if u.fallbacks:
        parts.append("fallbacks " + ", ".join(f"{k}={v}" for k, v in sorted(u.fallbacks.items())))
    return " · ".join(parts)


def print_json(document: Any) -> None:
    """`--json`: one document on stdout, nothing else there. NaN (an estimate over no example)
    becomes null, so the output is JSON every parser reads."""
    sys.stdout.write(json.dumps(_finite(document), ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def evaluation_dict(evaluation: Evaluation) -> dict[str, Any]:
    """An evaluation as data: accuracy (and coverage) with their intervals, n, failures, cost."""
    cov = evaluation.coverage
    return {"examples": len(evaluation.results), "accuracy": evaluation.estimate.to_dict(),
            "coverage": cov.to_dict() if cov is not None else None, "per_query": evaluation.per_query(),
            "scored": evaluation.estimate.n, "failed": evaluation.failed, "unscored": len(evaluation.score_errors),
            "wall_s": evaluation.wall_s, "usage": evaluation.usage.to_dict()}


@contextmanager
def progress(err: Console, total: int, label: str = "examples") -> Iterator[Callable[[], None]]:
    """A transient progress bar on stderr; yields the function that advances it by one."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn, TimeRemainingColumn

    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=err, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)


@contextmanager
def phases(err: Console) -> Iterator[Callable[[str, int], Callable[[Any], None]]]:
    """Progress in phases on stderr (a trial, then each baseline): yields start(label, total),
    which adds a bar and returns the function that advances it by one."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, transient=True) as bar:
        def start(label: str, total: int) -> Callable[[Any], None]:
            task = bar.add_task(label, total=total)
            return lambda _result: bar.advance(task)

        yield start
