"""Weighted vote: majority vote whose votes are weighted by a verifier's score, one scoring
call per candidate (verifier-weighted self-consistency)."""

from __future__ import annotations

from dataclasses import replace

from pydantic import Field

from archon_cli.components import COMPONENTS
from archon_cli.components.base import LLMComponent, Steps
from archon_cli.components.majority_vote import vote_order
from archon_cli.components.parsing import parse_score
from archon_cli.components.state import Item, Notes
from archon_cli.components.structured import Structured, reply_tokens, score
from archon_cli.config.bounds import MAX_TOKENS, Int
from archon_cli.config.pipeline import ModelComponentParams

LOW, HIGH = 1, 10
NEUTRAL = 5  # the weight of a score that could not be read


class WeightedVoteParams(ModelComponentParams):
    # A score is one number (a few more tokens as JSON).
    max_tokens: Int = Field(12, ge=1, le=MAX_TOKENS)
    structured: Structured = "auto"


@COMPONENTS.register("weighted_vote")
class WeightedVote(LLMComponent):
    """Each candidate's vote counts its 1–10 score; candidates come out in weighted-vote order.
    Fallback: an unreadable score counts as 5 (`unparsed_score`)."""

    Params = WeightedVoteParams
    params: WeightedVoteParams

    def calls(self, n_in: int) -> int:
        return n_in

    def n_out(self, n_in: int) -> int:
        return n_in

    def run(self, item: Item, notes: Notes) -> Steps:
        cands = item.candidates
        if not cands:
            return item
        asks = [self.prompts.render("user", query=item.query, candidate=c.text.strip()) for c in cands]
        replies = yield [self.request(u, schema=score(LOW, HIGH), structured=self.params.structured,
                                      schema_max_tokens=reply_tokens()) for u in asks]
        weights: list[float] = []
        for text in replies:
            value = parse_score(text, LOW, HIGH)
            if value is None:
                notes.fallback("unparsed_score")
                value = NEUTRAL
            weights.append(float(value))
        order = vote_order([c.text for c in cands], weights)
        notes.detail("scores", weights)
        notes.detail("ranking", [i + 1 for i in order])
        return replace(item, candidates=tuple(cands[i] for i in order))
