"""Ranker: one listwise call orders the candidates; the top_k go on, critiques attached."""

from __future__ import annotations

from dataclasses import replace

from pydantic import Field

from archon_cli.components import COMPONENTS, structured
from archon_cli.components.base import LLMComponent, Steps, numbered
from archon_cli.components.parsing import parse_ranking
from archon_cli.components.state import Item, Notes
from archon_cli.components.structured import Structured
from archon_cli.config.bounds import MAX_SAMPLES, MAX_TOKENS, Int
from archon_cli.config.pipeline import ModelComponentParams


class RankerParams(ModelComponentParams):
    top_k: Int = Field(1, ge=1, le=MAX_SAMPLES)
    # A ranking is a short list of numbers.
    max_tokens: Int = Field(48, ge=1, le=MAX_TOKENS)
    # `{"ranking": [...]}` enforced by the engine where it can (components/structured.py).
    structured: Structured = "auto"


@COMPONENTS.register("ranker")
class Ranker(LLMComponent):
    """Fallback: when no candidate number can be read, the input order is kept."""

    Params = RankerParams
    params: RankerParams

    def calls(self, n_in: int) -> int:
        return 1 if n_in > 1 else 0  # one candidate needs no ranking

    def n_out(self, n_in: int) -> int:
        return min(self.params.top_k, n_in)

    def run(self, item: Item, notes: Notes) -> Steps:
        cands = item.candidates
        if len(cands) > 1:
            user = self.prompts.render("user", query=item.query, candidates=numbered(cands), n=len(cands))
            (text,) = yield [self.request(user, schema=structured.ranking(len(cands)),
                                          structured=self.params.structured,
                                          schema_max_tokens=structured.reply_tokens(len(cands)))]
            order = parse_ranking(text, len(cands))
            if order is None:
                notes.fallback("unparsed_ranking")
                order = list(range(len(cands)))
            notes.detail("ranking", [i + 1 for i in order])
            cands = tuple(cands[i] for i in order)
        notes.detail("kept", min(self.params.top_k, len(cands)))
        return replace(item, candidates=cands[: self.params.top_k])
