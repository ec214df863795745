"""Adaptive vote (adaptive self-consistency): a first-layer sampler that draws answers in
rounds of `round_size` and stops as soon as the majority vote is decided, at most
`max_samples`. The candidates come out in vote order, like majority_vote's.

Stopping rule, checked after every round on the votes of the leading answer (a) and of the
runner-up (b), with r samples left:
- `decided`: a − b > r, so no remaining sample could change the winner (exact);
- `beta` (default; Aggarwal et al. 2023, "Let's Sample Step by Step"): also stop once
  P(p_a > p_b) ≥ `confidence` under the posterior Beta(a+1, b+1) of the leader's share of the
  two, which for integer votes is P(Binomial(a+b+1, 1/2) ≤ a). At 0.95, four agreeing samples
  and no dissent stop the sampling.
Samples are numbered 0, 1, 2, ... like a generator's, so both share cached samples.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from math import comb
from typing import Literal

from pydantic import Field

from archon_cli.answers import extract_answer
from archon_cli.components import COMPONENTS
from archon_cli.components.base import Component, Steps
from archon_cli.components.generator import SamplingParams, sample_messages, sample_request
from archon_cli.components.majority_vote import vote_order
from archon_cli.components.state import Candidate, Item, Notes
from archon_cli.config.bounds import MAX_SAMPLES, Float, Int


class AdaptiveVoteParams(SamplingParams):
    max_samples: Int = Field(8, ge=1, le=MAX_SAMPLES)
    round_size: Int = Field(2, ge=1, le=MAX_SAMPLES)
    stop: Literal["beta", "decided"] = "beta"
    confidence: Float = Field(0.95, gt=0.5, lt=1)


def leader_probability(a: int, b: int) -> float:
    """P(p_a > p_b) under Beta(a+1, b+1): P(Binomial(a+b+1, 1/2) ≤ a)."""
    n = a + b + 1
    return sum(comb(n, j) for j in range(a + 1)) / 2**n


def decided(answers: list[str], left: int, rule: str, confidence: float) -> bool:
    top = Counter(answers).most_common(2)
    a = top[0][1] if top else 0
    b = top[1][1] if len(top) > 1 else 0
    if a - b > left:
        return True
    return rule == "beta" and leader_probability(a, b) >= confidence


@COMPONENTS.register("adaptive_vote")
class AdaptiveVote(Component):
    Params = AdaptiveVoteParams
    first_layer_only = True
    exact_n_out = False  # up to max_samples: the votes decide
    params: AdaptiveVoteParams

    @property
    def exact_calls(self) -> bool:
        return False  # max_samples is the upper bound; a decided vote stops earlier

    def calls(self, n_in: int) -> int:
        return self.params.max_samples

    def n_out(self, n_in: int) -> int:
        return self.params.max_samples

    def run(self, item: Item, notes: Notes) -> Steps:
        p = self.params
        messages = sample_messages(p, item)
        texts: list[str] = []
        answers: list[str] = []
        while len(texts) < p.max_samples:
            batch = range(len(texts), min(p.max_samples, len(texts) + p.round_size))
            replies = yield [sample_request(p, messages, s) for s in batch]
            texts += replies
            answers += [extract_answer(t) for t in replies]
            if decided(answers, p.max_samples - len(texts), p.stop, p.confidence):
                break
        order = vote_order(texts, answers=answers)
        notes.detail("answers", [answers[i] for i in order])  # in output order, like the candidates
        notes.detail("samples", len(texts))
        return replace(item, candidates=tuple(Candidate(texts[i]) for i in order))
