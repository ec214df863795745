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

MIN_CRITIQUE_CHARS = 8  # "correct" / "wrong: 9"


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
        # A token is at least one character, so n strings of budget/n characters fit in max_tokens
        # (a cap in characters per token would not: digits and symbols run ~1 per token, and a
        # reply cut off mid-string does not parse). The JSON around them gets its own budget.
        n, budget = len(cands), self.params.max_tokens
        (text,) = yield [self.request(user, schema=structured.critiques(n, max(MIN_CRITIQUE_CHARS, budget // n)),
                                      structured=self.params.structured,
                                      schema_max_tokens=budget + structured.reply_tokens(n))]
        parts = split_critiques(text, len(cands))
        if parts is None:
            notes.fallback("unsplit_critique")
            parts = [text.strip()] * len(cands)
        return replace(item, candidates=tuple(replace(c, critique=p) for c, p in zip(cands, parts, strict=True)))
