"""Generator: answers the conversation `samples` times (repeated sampling; several
generators in the first layer form an ensemble)."""

from __future__ import annotations

from dataclasses import replace

from pydantic import Field

from archon_cli.components import COMPONENTS
from archon_cli.components.base import Component, Steps
from archon_cli.components.state import Candidate, Item, Notes
from archon_cli.config.bounds import Float, Int
from archon_cli.config.pipeline import ModelComponentParams
from archon_cli.llm.types import Message, Request


class GeneratorParams(ModelComponentParams):
    samples: Int = Field(1, ge=1, le=1000)
    # Sampling diversity is the point of repeated samples.
    temperature: Float = Field(0.7, ge=0, le=2)
    system: str | None = None


@COMPONENTS.register("generator")
class Generator(Component):
    Params = GeneratorParams
    first_layer_only = True
    params: GeneratorParams

    def calls(self, n_in: int) -> int:
        return self.params.samples

    def n_out(self, n_in: int) -> int:
        return self.params.samples

    def run(self, item: Item, notes: Notes) -> Steps:
        p = self.params
        system = (Message("system", p.system),) if p.system else ()
        messages = system + item.messages
        requests = [Request(p.model, messages, p.temperature, p.max_tokens, sample=s) for s in range(p.samples)]
        texts = yield requests
        return replace(item, candidates=tuple(Candidate(t) for t in texts))
