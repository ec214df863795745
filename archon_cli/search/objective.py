"""One trial's body, the same wherever it runs: budget check, successive-halving rungs, metrics.

The trial travels as one immutable `TrialJob` (spec, examples, scorer with its options, rung
settings and the competitors' rung scores at submission); `run_trial` evaluates it with an LLM
client and returns a `TrialOutcome`. The trial-failure policy lives here, in one place:
- over the calls-per-query budget or an invalid combination → "infeasible" (pruned, zero calls);
- not promoted at a rung → "pruned" (its score so far and examples seen are recorded);
- engine or scorer failure (any exception) → "fail", with the traceback kept for the trial dir.
Cancellation (a budget or Ctrl-C in the search loop) is not a failure: it propagates, and the
loop records the trial as interrupted with what it spent (`TrialProgress.usage`).
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from archon_cli.config.pipeline import PipelineSpec
from archon_cli.config.search import Objective
from archon_cli.errors import StorageError
from archon_cli.evaluate import Evaluation, aevaluate
from archon_cli.llm.client import LLMClient, metered
from archon_cli.llm.usage import Usage
from archon_cli.pipeline import ExampleResult, Pipeline
from archon_cli.redact import error_text, redact
from archon_cli.tasks.base import Example, Scorer
from archon_cli.trace import TraceRecorder

State = Literal["complete", "pruned", "infeasible", "fail"]


@dataclass(frozen=True)
class TrialJob:
    """Everything a trial needs, whichever executor runs it (pickled for Ray)."""

    number: int
    spec: PipelineSpec
    examples: tuple[Example, ...]
    scorer: Scorer  # built once by the search, with its options
    rungs: tuple[int, ...] = ()
    eta: int = 3
    # Scores other trials had reached at each rung size when this one was submitted.
    competitors: dict[int, tuple[float, ...]] = field(default_factory=dict)
    calls_budget: int | None = None
    trace: bool = False  # keep the pipeline trace of every example (TrialOutcome.trace)


@dataclass
class TrialProgress:
    """What a running trial has done so far; the executor reports it to the loop."""

    number: int
    examples_total: int
    examples_done: int = 0
    # What the engines were asked so far (attempts, tokens, USD; cut-short attempts included,
    # cache hits not): what budgets count, and what an interrupted trial records.
    usage: Usage = field(default_factory=Usage)
    rung: tuple[int, float] | None = None  # the last rung reached: (examples, mean score)


@dataclass
class TrialOutcome:
    state: State
    reason: str = ""
    calls_per_query: int = 0
    n_examples: int = 0
    accuracy: float | None = None
    rung_scores: dict[str, float] = field(default_factory=dict)  # examples seen → mean score
    usage: Usage = field(default_factory=Usage)
    predictions: list[dict[str, Any]] = field(default_factory=list)
    traceback: str | None = None
    # With TrialJob.trace: one record per example seen and layer (archon_cli/trace.py), in example order.
    trace: list[dict[str, Any]] = field(default_factory=list)

    def cost(self, objective: Objective) -> float:
        n = max(1, self.n_examples)
        u = self.usage
        if objective == "calls":
            return u.calls / n
        if objective == "tokens":
            return (u.prompt_tokens + u.completion_tokens) / n
        if objective == "usd":
            return u.usd / n
        return self.accuracy or 0.0

    def metrics(self) -> dict[str, Any]:
        n = max(1, self.n_examples)
        u = self.usage
        return {
            "state": self.state, "reason": self.reason, "accuracy": self.accuracy, "n_examples": self.n_examples,
            "calls_per_query_estimate": self.calls_per_query, "rung_scores": self.rung_scores,
            "per_query": {"calls": u.calls / n, "prompt_tokens": u.prompt_tokens / n,
                          "completion_tokens": u.completion_tokens / n, "usd": u.usd / n,
                          "latency_s": u.latency_s / n},
            "usage": u.to_dict(),
            "engine_tokens": engine_tokens(u),
        }


def engine_tokens(u: Usage) -> int:
    """Tokens actually spent on engines (cache hits excluded): what the token budget counts."""
    return (u.prompt_tokens - u.cached_prompt_tokens) + (u.completion_tokens - u.cached_completion_tokens)


def bounds(mean: float, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95% Wilson score bounds of a mean of n scores in [0, 1] (conservative for graded scores,
    whose variance is at most p(1 − p)); the closed form takes fractional successes."""
    if n <= 0:
        return 0.0, 1.0
    centre = (mean + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(max(0.0, mean * (1 - mean)) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def _rung_floor() -> int:
    """The smallest rung at which a 25%-accurate trial can be told from a 75%-accurate one
    (their bounds no longer overlap): below it a rung prunes by noise, not by skill."""
    return next(n for n in range(1, 1000) if bounds(0.25, n)[1] < bounds(0.75, n)[0])


RUNG_FLOOR = _rung_floor()  # 16 examples


def rung_sizes(rungs: Sequence[int], n_search: int) -> list[int]:
    """Growing example counts ending with the whole search split, each rung raised to the floor
    (and dropped when that reaches the split): [10, 30] over 40 → [16, 30, 40]."""
    raised = sorted({max(r, RUNG_FLOOR) for r in rungs if max(r, RUNG_FLOOR) < n_search})
    return [*raised, n_search]


def promotion(value: float, n: int, competitors: Sequence[float], eta: int) -> str | None:
    """Noise-aware asynchronous successive halving at a rung of n examples: a trial goes on
    (None) when fewer than ⌊k/eta⌋ of the k scores there (itself included) beat it, or when its
    upper 95% bound reaches the lower bound of the best score there (tied within noise: ties
    never decide). Otherwise the reason it stops, with the numbers."""
    if not competitors:
        return None
    top = max(1, (len(competitors) + 1) // eta)
    if sum(1 for c in competitors if c > value) < top:
        return None
    best = max(competitors)
    best_low = bounds(best, n)[0]
    low, high = bounds(value, n)
    if high >= best_low:
        return None
    return (f"not promoted after {n} examples: {value:.3f} (95% CI {low:.3f}–{high:.3f}) is below the best at "
            f"this rung, {best:.3f} (lower bound {best_low:.3f}), and outside the top {top} of {len(competitors) + 1}")


Report = Callable[[TrialProgress], None]
# Scores a chunk of examples, calling back as each finishes: the pipeline through an LLM
# client in a search, a table lookup in the search-quality benchmark.
EvaluateChunk = Callable[[Sequence[Example], Callable[[ExampleResult], None]], Awaitable[Evaluation]]


async def run_trial(job: TrialJob, client: LLMClient | None, report: Report | None = None,
                    evaluate: EvaluateChunk | None = None) -> TrialOutcome:
    """Evaluate `job.spec` on growing prefixes of `job.examples` (incrementally: each rung only
    runs the new examples), reporting progress after every example. `evaluate` replaces running
    the pipeline with `client` (and then nothing is traced)."""
    try:
        pipeline = Pipeline(job.spec)
        estimate = pipeline.estimate_calls()
    except Exception as exc:  # trial boundary: a component that cannot even be built
        return TrialOutcome("fail", f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
    recorder = None
    if evaluate is None:
        if client is None:
            raise TypeError("run_trial needs an LLM client or an evaluate function")
        recorder = TraceRecorder() if job.trace else None

        def evaluate(chunk: Sequence[Example], on_done: Callable[[ExampleResult], None]) -> Awaitable[Evaluation]:
            return aevaluate(pipeline, chunk, job.scorer, client, on_done=on_done, tracer=recorder)
    out = TrialOutcome("complete", calls_per_query=estimate.calls)
    if job.calls_budget is not None and estimate.calls > job.calls_budget:
        out.state, out.reason = "infeasible", f"{estimate.calls} calls per query > budget {job.calls_budget}"
        return out
    with metered() as spend:
        out = await _rungs(job, evaluate, out, TrialProgress(job.number, len(job.examples), usage=spend), report)
    if recorder is not None:
        out.trace = [r.to_dict() for r in recorder.records([ex.id for ex in job.examples])]
    return out


async def _rungs(job: TrialJob, evaluate: EvaluateChunk, out: TrialOutcome, progress: TrialProgress,
                 report: Report | None) -> TrialOutcome:
    def example_done(result: ExampleResult) -> None:
        progress.examples_done += 1
        if report is not None:
            report(progress)

    if report is not None:
        report(progress)  # at once: in process, the executor then reads the live meter at any time

    scores: list[float] = []
    results: list[ExampleResult] = []
    done = 0
    sizes = rung_sizes(job.rungs, len(job.examples))
    try:
        for k, size in enumerate(sizes):
            chunk = job.examples[done:size]
            evaluation = await evaluate(chunk, example_done)
            for ex, res, value in zip(chunk, evaluation.results, evaluation.scores, strict=True):
                # In a search a failed example is a wrong answer: a pipeline that fails scores lower.
                score = 0.0 if res.error is not None else value
                out.usage.merge(res.usage)
                out.predictions.append({"id": ex.id, "input": ex.input, "reference": ex.reference,
                                        "output": res.output, "score": score, "error": res.error,
                                        "score_error": evaluation.score_errors.get(ex.id),
                                        "usage": res.usage.to_dict()})
                if score is not None:
                    scores.append(score)
            results += evaluation.results
            done = size
            out.n_examples = done
            out.accuracy = sum(scores) / len(scores) if scores else 0.0
            out.rung_scores[str(size)] = out.accuracy
            progress.rung = (size, out.accuracy)
            if report is not None:
                report(progress)
            if k < len(sizes) - 1 and (why := promotion(out.accuracy, size, job.competitors.get(size, ()), job.eta)):
                out.state, out.reason = "pruned", why
                return out
    except StorageError:
        raise  # a full disk or unwritable cache stops the search, not just this trial
    except Exception as exc:  # trial boundary: engine, scorer or component failure fails this trial only
        out.state, out.reason = "fail", f"{type(exc).__name__}: {error_text(exc)}"
        out.traceback = redact(traceback.format_exc())
        return out
    if results and all(r.error is not None for r in results):
        out.state, out.reason = "fail", f"every example failed: {results[0].error}"
    return out
