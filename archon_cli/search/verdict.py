"""The verdict: is the found architecture really better than what a user would do anyway?

The winner is evaluated on held-out examples together with, on the same examples and through
the same cache:
- the single call: one greedy call (temperature 0) to the top-ranked model;
- the compute-matched baseline: a majority vote over as many samples of the top model as the
  winner spends LLM calls per query (at the winner's sampling temperature, or 0.7 if it samples
  greedily). A vote needs short answers; for free text, code or judged answers there is none,
  and the verdict says so.
Each comparison is the paired difference of per-example scores with its 95% interval and
p-value (`stats.paired_difference`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from archon_cli.components import COMPONENTS
from archon_cli.components.describe import describe_spec
from archon_cli.config.pipeline import ComponentParams, ModelSpec, PipelineSpec
from archon_cli.evaluate import Evaluation, aevaluate
from archon_cli.llm.client import LLMClient
from archon_cli.llm.usage import Usage
from archon_cli.pipeline import ExampleResult, Pipeline
from archon_cli.stats import Comparison, Estimate, mean_interval, paired_difference
from archon_cli.tasks.base import Example, Scorer

# Progress of an evaluation in phases: start(label, examples) → called once per finished example.
StartPhase = Callable[[str, int], Callable[[ExampleResult], None]]

VOTE_TEMPERATURE = 0.7  # self-consistency needs diverse samples; a greedy winner gives no temperature


@dataclass(frozen=True)
class Baseline:
    label: str
    spec: PipelineSpec | None  # None: this baseline cannot apply (the note says why)
    note: str = ""


@dataclass
class Result:
    label: str
    architecture: str
    estimate: Estimate | None = None
    comparison: Comparison | None = None  # winner minus this baseline
    note: str = ""

    @property
    def line(self) -> str:
        """One plain sentence: the difference, its CI and p-value, and what that means."""
        if self.comparison is None:
            return f"{self.label}: {self.note}"
        c = self.comparison
        word = "over" if c.diff >= 0 else "under"
        verdict = (("better" if c.diff > 0 else "worse") + f" (p = {c.p_value:.3f})" if c.significant
                   else f"not significant (p = {c.p_value:.3f})")
        return (f"{abs(c.diff) * 100:.1f} points {word} {self.label} [{self.architecture}] "
                f"(95% CI {c.low * 100:+.1f} to {c.high * 100:+.1f}): {verdict}" + (f"; {self.note}" if self.note
                                                                                   else ""))


@dataclass
class Verdict:
    trial: int
    architecture: str
    split: str
    estimate: Estimate
    results: list[Result]
    usage: Usage = field(default_factory=Usage)  # of the baselines' evaluations

    def lines(self) -> list[str]:
        head = f"verdict on {self.estimate.n} {self.split} examples: trial {self.trial} [{self.architecture}] " \
               f"scores {self.estimate}"
        return [head, *(f"  {r.line}" for r in self.results)]

    def to_dict(self) -> dict[str, Any]:
        return {"winner": {"trial": self.trial, "architecture": self.architecture, "split": self.split,
                           "estimate": self.estimate.to_dict()},
                "baselines": [{"label": r.label, "architecture": r.architecture, "note": r.note,
                               "estimate": r.estimate.to_dict() if r.estimate else None,
                               "comparison": r.comparison.to_dict() if r.comparison else None,
                               "line": r.line} for r in self.results],
                "n": self.estimate.n, "method": "paired difference of per-example scores (stats.paired_difference)",
                "usage": self.usage.to_dict(), "lines": self.lines()}


def _component(kind: str, **values: Any) -> ComponentParams:
    params: ComponentParams = COMPONENTS.get(kind).Params.model_validate({"type": kind, **values})
    return params


def baselines(winner: PipelineSpec, models: dict[str, ModelSpec], scorer: Scorer) -> list[Baseline]:
    """The single call and the compute-matched vote for `winner`; `models` ranked best first."""
    top = next(iter(models))
    first = winner.layers[0][0]
    max_tokens = int(getattr(first, "max_tokens", 256))
    pool = {top: models[top]}
    single = PipelineSpec(name="baseline-single-call", models=pool, layers=[
        [_component("generator", model=top, samples=1, temperature=0.0, max_tokens=max_tokens)]])
    calls = Pipeline(winner).estimate_calls().calls
    single_call = Baseline("a single call", single)
    if calls <= 1:
        return [single_call, Baseline("the compute-matched vote", None, "the winner spends one call per query: "
                                      "the single call is the compute-matched baseline")]
    if not scorer.votable:
        return [single_call, Baseline("the compute-matched vote", None, f"no vote over {calls} samples: "
                                      f"{scorer.name} answers are not short answers a vote can count")]
    temperature = float(getattr(first, "temperature", 0.0)) or VOTE_TEMPERATURE
    vote = PipelineSpec(name="baseline-vote", models=pool, layers=[
        [_component("generator", model=top, samples=calls, temperature=temperature, max_tokens=max_tokens)],
        [_component("majority_vote")]])
    return [single_call, Baseline(f"a {calls}-sample vote at equal calls", vote)]


def _scores(evaluation: Evaluation) -> list[float]:
    """Per-example scores with an unscorable output counted as 0, so both sides stay paired."""
    return [0.0 if s is None else s for s in evaluation.scores]


async def compare(trial: int, winner: PipelineSpec, mine: Evaluation, models: dict[str, ModelSpec],
                  examples: Sequence[Example], scorer: Scorer, client: LLMClient, split: str,
                  start: StartPhase | None = None) -> Verdict:
    """The baselines of `winner` on the `examples` it was evaluated on (`mine`), through the same
    client, so cached samples are shared. `start` reports each baseline's progress."""
    mine_scores = _scores(mine)
    usage = Usage()
    results = []
    for base in baselines(winner, models, scorer):
        if base.spec is None:
            results.append(Result(base.label, "—", note=base.note))
            continue
        same = base.spec.to_yaml_data()["layers"] == winner.to_yaml_data()["layers"]
        if same:
            theirs = mine
        else:
            on_done = start(base.label, len(examples)) if start is not None else None
            theirs = await aevaluate(Pipeline(base.spec), examples, scorer, client, on_done)
        if not same:
            usage.merge(theirs.usage)
        results.append(Result(base.label, describe_spec(base.spec), mean_interval(_scores(theirs)),
                              paired_difference(mine_scores, _scores(theirs)),
                              "the winner is this baseline" if same else ""))
    return Verdict(trial, describe_spec(winner), split, mean_interval(mine_scores), results, usage)
