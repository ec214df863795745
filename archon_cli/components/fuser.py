"""Fuser: merges the candidates (and their critiques) into `samples` new answers."""

from __future__ import annotations

from dataclasses import replace

from pydantic import Field

from archon_cli.components import COMPONENTS
from archon_cli.components.base import LLMComponent, Steps, numbered
from archon_cli.components.state import Candidate, Item, Notes
from archon_cli.config.bounds import Int
from archon_cli.config.pipeline import ModelComponentParams


class FuserParams(ModelComponentParams):
    samples: Int = Field(1, ge=1, le=100)


@COMPONENTS.register("fuser")
class Fuser(LLMComponent):
    """Fallback: an empty fused answer is replaced by the first input candidate."""

    Params = FuserParams
    params: FuserParams

    def calls(self, n_in: int) -> int:
        return self.params.samples if n_in else 0

    def n_out(self, n_in: int) -> int:
        return self.params.samples if n_in else 0

    def run(self, item: Item, notes: Notes) -> Steps:
        if not item.candidates:
            return item
        user = self.prompts.render("user", query=item.query, candidates=numbered(item.candidates))
        texts = yield [self.request(user, sample=s) for s in range(self.params.samples)]
        fused = []
        for text in texts:
            if text.strip():
                fused.append(Candidate(text))
            else:
                notes.fallback("empty_fusion")
                fused.append(Candidate(item.candidates[0].text))
        return replace(item, candidates=tuple(fused))
