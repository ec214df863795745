"""Evaluate one pipeline on examples with a scorer: the unit of work of eval, search and replay.

An example whose pipeline failed (an LLM call that failed for good, a component error) has no
score: accuracy is over the examples scored, and `failed` is reported beside it. (A search
trial counts a failed example as a wrong answer: search/objective.py.) When every example
failed there is no accuracy at all: `require_answers` raises EvaluationFailed (exit 1).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from archon_cli.coverage import best, score_candidates
from archon_cli.errors import EvaluationFailed
from archon_cli.llm.client import LLMClient
from archon_cli.llm.usage import Usage
from archon_cli.pipeline import ExampleResult, Pipeline, Tracer
from archon_cli.stats import Estimate, mean_interval
from archon_cli.tasks.base import Example, ScoreError, Scorer


@dataclass
class Evaluation:
    results: list[ExampleResult]
    # None where the example failed (no output: counted in `failed`) or its output could not be
    # judged (in `score_errors`): excluded from the mean either way.
    scores: list[float | None]
    score_errors: dict[str, str] = field(default_factory=dict)
    wall_s: float = 0.0
    # Per example, its best first-layer candidate's score (when asked for; see coverage.py).
    coverage_scores: list[float] | None = None

    @property
    def usage(self) -> Usage:
        total = Usage()
        for r in self.results:
            total.merge(r.usage)
        return total

    @property
    def failed(self) -> int:
        return sum(1 for r in self.results if r.error is not None)

    def require_answers(self, what: str = "example") -> None:
        """Raise EvaluationFailed when there were examples and every one failed."""
        if self.results and self.failed == len(self.results):
            raise EvaluationFailed(all_failed_message([r.error for r in self.results], what))

    @property
    def estimate(self) -> Estimate:
        return mean_interval([s for s in self.scores if s is not None])

    @property
    def coverage(self) -> Estimate | None:
        return None if self.coverage_scores is None else mean_interval(self.coverage_scores)

    def per_query(self) -> dict[str, float]:
        n = max(1, len(self.results))
        u = self.usage
        return {"calls": u.calls / n, "prompt_tokens": u.prompt_tokens / n,
                "completion_tokens": u.completion_tokens / n, "usd": u.usd / n}


def evaluate(pipeline: Pipeline, examples: Sequence[Example], scorer: Scorer, client: LLMClient,
             on_done: Callable[[ExampleResult], None] | None = None, *, coverage: bool = False,
             tracer: Tracer | None = None) -> Evaluation:
    return asyncio.run(aevaluate(pipeline, examples, scorer, client, on_done, coverage=coverage, tracer=tracer))


async def aevaluate(pipeline: Pipeline, examples: Sequence[Example], scorer: Scorer, client: LLMClient,
                    on_done: Callable[[ExampleResult], None] | None = None, *,
                    coverage: bool = False, tracer: Tracer | None = None) -> Evaluation:
    """`evaluate` inside a running event loop: an in-process search runs every trial in one loop,
    so the client's semaphores and HTTP connections live as long as the search. `coverage` also
    scores every first-layer candidate (more scorer work: judge calls for a judge scorer).
    `tracer`: handed every example's layer traces (archon_cli/trace.py)."""
    start = time.perf_counter()
    results = await pipeline.arun([ex.to_input() for ex in examples], client, on_done, tracer)
    evaluation = Evaluation(results, [], wall_s=time.perf_counter() - start)
    answered = [(ex, res.output) for ex, res in zip(examples, results, strict=True) if res.output is not None]
    # One batch (sandbox runs and judge calls go concurrently), off the event loop: trials
    # running beside this one keep their calls going while it is scored.
    scored = iter(await asyncio.to_thread(scorer.score_outputs, answered))
    for ex, res in zip(examples, results, strict=True):
        if res.output is None:
            evaluation.scores.append(None)  # failed: counted in `failed`, not averaged in as a 0
            continue
        value = next(scored)
        if isinstance(value, ScoreError):
            evaluation.scores.append(None)
            evaluation.score_errors[ex.id] = str(value)
        else:
            evaluation.scores.append(value)
    if coverage:
        per_candidate = await asyncio.to_thread(score_candidates, examples, [r.first_layer for r in results], scorer)
        evaluation.coverage_scores = [best(s) for s in per_candidate]
    return evaluation


def all_failed_message(errors: Sequence[str | None], what: str = "example") -> str:
    """'every one of the N examples failed: CAUSE' with the most common cause (and how many)."""
    causes = Counter(e for e in errors if e is not None)
    cause, count = causes.most_common(1)[0] if causes else ("no error recorded", 0)
    share = "" if count == len(errors) else f" ({count} of them; {len(causes) - 1} other causes)"
    return f"every one of the {len(errors)} {what}s failed, so there is no accuracy{share}: {cause}"
