"""Verifier: per candidate, a reasoning call then a verdict call; candidates judged correct
go on. If none passes, all go on (nothing is lost to an over-strict judge)."""

from __future__ import annotations

from dataclasses import replace

from pydantic import Field

from archon_cli.components import COMPONENTS, structured
from archon_cli.components.base import LLMComponent, Steps
from archon_cli.components.parsing import parse_verdict
from archon_cli.components.state import Item, Notes
from archon_cli.components.structured import Structured
from archon_cli.config.bounds import MAX_TOKENS, Int
from archon_cli.config.pipeline import ModelComponentParams
from archon_cli.llm.types import Message


class VerifierParams(ModelComponentParams):
    max_tokens: Int = Field(160, ge=1, le=MAX_TOKENS)
    # The verdict is one word.
    verdict_max_tokens: Int = Field(8, ge=1, le=MAX_TOKENS)
    # `{"correct": true}` (about 5 tokens) enforced by the engine where it can.
    structured: Structured = "auto"


@COMPONENTS.register("verifier")
class Verifier(LLMComponent):
    """Fallback: an unreadable verdict counts as a pass."""

    Params = VerifierParams
    params: VerifierParams
    exact_n_out = False

    def calls(self, n_in: int) -> int:
        return 2 * n_in

    def n_out(self, n_in: int) -> int:
        return n_in  # upper bound: the verdicts decide

    def run(self, item: Item, notes: Notes) -> Steps:
        cands = item.candidates
        if not cands:
            return item
        firsts = [self.prompts.render("reason", query=item.query, candidate=c.text.strip()) for c in cands]
        reasons = yield [self.request(u) for u in firsts]
        verdict_q = self.prompts.render("verdict")
        p = self.params
        verdicts = yield [
            self.request(verdict_q, history=(Message("user", u), Message("assistant", r)),
                         max_tokens=p.verdict_max_tokens, schema=structured.verdict(), structured=p.structured,
                         schema_max_tokens=structured.reply_tokens())
            for u, r in zip(firsts, reasons, strict=True)
        ]
        keep, judged = [], []
        for cand, text in zip(cands, verdicts, strict=True):
            verdict = parse_verdict(text)
            if verdict is None:
                notes.fallback("unparsed_verdict")
                verdict = True
            judged.append(verdict)
            if verdict:
                keep.append(cand)
        notes.detail("verdicts", judged)
        if not keep:
            notes.fallback("none_verified")
            keep = list(cands)
        return replace(item, candidates=tuple(keep))
