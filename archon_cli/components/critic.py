"""Critic: one call writes strengths and weaknesses for every candidate; each critique is
stored on its own candidate."""

from __future__ import annotations

from dataclasses import replace

from pydantic import Field

from archon_cli.components import COMPONENTS, structured
from archon_cli.components.base import LLMComponent, Steps, numbered
from archon_cli.components.parsing import split_critiques
from archon_cli.components.state import Item, Notes
from archon_cli.components.structured import Structured
from archon_cli.config.bounds import MAX_TOKENS, Int
from archon_cli.config.pipeline import ModelComponentParams


class CriticParams(ModelComponentParams):
    max_tokens: Int = Field(192, ge=1, le=MAX_TOKENS)
    # `{"critiques": [...]}`, one per candidate, where the engine can enforce it.
    structured: Structured = "auto"


@COMPONENTS.register("critic")
class Critic(LLMComponent):
    """Fallback: when the text cannot be split into one part per candidate, every candidate
    gets the whole critique text (it still informs a later ranker or fuser)."""

    Params = CriticParams
    params: CriticParams

    def calls(self, n_in: int) -> int:
        return 1 if n_in else 0

    def n_out(self, n_in: int) -> int:
        return n_in

    def run(self, item: Item, notes: Notes) -> Steps:
        cands = item.candidates
        if not cands:
            return item
        user = self.prompts.render("user", query=item.query, candidates=numbered(cands, with_critiques=False))
        # At ≥ 3 characters a token the n strings fit in max_tokens; the JSON around them gets its own budget.
        n, budget = len(cands), self.params.max_tokens
        (text,) = yield [self.request(user, schema=structured.critiques(n, max(16, 3 * budget // n)),
                                      structured=self.params.structured,
                                      schema_max_tokens=budget + structured.reply_tokens(n))]
        parts = split_critiques(text, len(cands))
        if parts is None:
            notes.fallback("unsplit_critique")
            parts = [text.strip()] * len(cands)
        return replace(item, candidates=tuple(replace(c, critique=p) for c, p in zip(cands, parts, strict=True)))
