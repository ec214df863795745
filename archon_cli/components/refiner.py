"""Refiner (self-refine): for `rounds` rounds, every candidate gets a critique call and then a
revision call that answers again with the feedback in view."""

from __future__ import annotations

from dataclasses import replace

from pydantic import Field

from archon_cli.components import COMPONENTS
from archon_cli.components.base import LLMComponent, Steps
from archon_cli.components.state import Candidate, Item, Notes
from archon_cli.config.bounds import MAX_TOKENS, Int
from archon_cli.config.pipeline import ModelComponentParams


class RefinerParams(ModelComponentParams):
    rounds: Int = Field(1, ge=1, le=10)
    critique_max_tokens: Int = Field(96, ge=1, le=MAX_TOKENS)


@COMPONENTS.register("refiner")
class Refiner(LLMComponent):
    """Fallback: an empty revision keeps the answer it was meant to revise (`empty_revision`)."""

    Params = RefinerParams
    params: RefinerParams

    def calls(self, n_in: int) -> int:
        return 2 * self.params.rounds * n_in

    def n_out(self, n_in: int) -> int:
        return n_in

    def run(self, item: Item, notes: Notes) -> Steps:
        texts = [c.text.strip() for c in item.candidates]
        for _ in range(self.params.rounds if texts else 0):
            asks = [self.prompts.render("critique", query=item.query, candidate=t) for t in texts]
            feedback = yield [self.request(u, max_tokens=self.params.critique_max_tokens) for u in asks]
            revise = [self.prompts.render("revise", query=item.query, candidate=t, feedback=f.strip())
                      for t, f in zip(texts, feedback, strict=True)]
            revised = yield [self.request(u) for u in revise]
            for i, new in enumerate(revised):
                if new.strip():
                    texts[i] = new.strip()
                else:
                    notes.fallback("empty_revision")
        return replace(item, candidates=tuple(Candidate(t) for t in texts))
