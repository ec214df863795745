"""Majority vote (self-consistency): extracts each candidate's final answer and puts the
candidates with the most common answer first. No model calls."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from archon_cli.answers import extract_answer
from archon_cli.components import COMPONENTS
from archon_cli.components.base import Component, Steps
from archon_cli.components.state import Item, Notes
from archon_cli.config.pipeline import ComponentParams


class MajorityVoteParams(ComponentParams):
    pass


@COMPONENTS.register("majority_vote")
class MajorityVote(Component):
    """Ties go to the answer seen first, so the result is deterministic."""

    Params = MajorityVoteParams

    def calls(self, n_in: int) -> int:
        return 0

    def n_out(self, n_in: int) -> int:
        return n_in

    def run(self, item: Item, notes: Notes) -> Steps:
        answers = [extract_answer(c.text) for c in item.candidates]
        counts = Counter(answers)
        first_seen = {a: answers.index(a) for a in counts}
        ranked = sorted(range(len(answers)), key=lambda i: (-counts[answers[i]], first_seen[answers[i]], i))
        return replace(item, candidates=tuple(item.candidates[i] for i in ranked))
        yield []  # pragma: no cover - makes this a generator like every component
