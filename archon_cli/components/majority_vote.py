"""Majority vote (self-consistency): extracts each candidate's final answer and puts the
candidates with the most common answer first. No model calls."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from archon_cli.answers import extract_answer
from archon_cli.components import COMPONENTS
from archon_cli.components.base import Component, Steps
from archon_cli.components.state import Item, Notes
from archon_cli.config.pipeline import ComponentParams


def vote_order(texts: Sequence[str], weights: Sequence[float] | None = None,
               answers: Sequence[str] | None = None) -> list[int]:
    """Indices of `texts` by the (weighted) votes their final answer got, most first. Ties go to
    the answer seen first, then to input order, so the result is deterministic. `answers`: the
    texts' final answers when the caller has extracted them already."""
    if answers is None:
        answers = [extract_answer(t) for t in texts]
    votes: dict[str, float] = {}
    first_seen: dict[str, int] = {}
    for i, answer in enumerate(answers):
        votes[answer] = votes.get(answer, 0.0) + (weights[i] if weights is not None else 1.0)
        first_seen.setdefault(answer, i)
    return sorted(range(len(answers)), key=lambda i: (-votes[answers[i]], first_seen[answers[i]], i))


class MajorityVoteParams(ComponentParams):
    pass


@COMPONENTS.register("majority_vote")
class MajorityVote(Component):
    Params = MajorityVoteParams

    def calls(self, n_in: int) -> int:
        return 0

    def n_out(self, n_in: int) -> int:
        return n_in

    def run(self, item: Item, notes: Notes) -> Steps:
        texts = [c.text for c in item.candidates]
        answers = [extract_answer(t) for t in texts]
        ranked = vote_order(texts, answers=answers)
        notes.detail("answers", answers)
        notes.detail("ranking", [i + 1 for i in ranked])
        return replace(item, candidates=tuple(item.candidates[i] for i in ranked))
        yield []  # pragma: no cover - makes this a generator like every component
