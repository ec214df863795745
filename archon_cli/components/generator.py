"""Generator: answers the conversation `samples` times (repeated sampling; several
generators in the first layer form an ensemble).

Axes beside the sample count: `top_p` / `min_p` (None = the engine's default), the prompt
style (`direct`: the conversation as is; `step_by_step`: the last user turn asks for reasoning
and a final `The answer is ...` line), `answer_as: program` (program-aided answering: the
model writes a short Python program, the sandbox runs it, and what it prints is the candidate;
no extra LLM call), and `first_finish: k` (First Finish Search: the first k samples to finish
are the candidates, the others are cancelled mid-stream and write no more tokens).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from pydantic import Field, model_validator

from archon_cli.components import COMPONENTS
from archon_cli.components.base import Component, Steps
from archon_cli.components.prompts import Prompts
from archon_cli.components.state import Candidate, FirstFinished, Item, Notes, ProgramRun
from archon_cli.config.bounds import MAX_SAMPLES, Float, Int
from archon_cli.config.pipeline import ModelComponentParams
from archon_cli.llm.types import Message, Request
from archon_cli.sandbox.programs import extract_code


class SamplingParams(ModelComponentParams):
    """What every first-layer sampler shares (generator, adaptive_vote)."""

    # Sampling diversity is the point of repeated samples.
    temperature: Float = Field(0.7, ge=0, le=2)
    top_p: Float | None = Field(None, gt=0, le=1)
    min_p: Float | None = Field(None, ge=0, le=1)
    prompt_style: Literal["direct", "step_by_step"] = "direct"
    system: str | None = None


def sample_messages(p: SamplingParams, item: Item, template: str | None = None) -> tuple[Message, ...]:
    """The conversation a sampler sends: its system prompt, then the example's turns with the
    last user turn rewritten by `template` (or by the prompt style; `direct` leaves it as is)."""
    key = template or (p.prompt_style if p.prompt_style != "direct" else None)
    turns = item.messages
    if key is not None:
        last = max((i for i, m in enumerate(turns) if m.role == "user"), default=None)
        if last is not None:
            text = Prompts.for_component("generator").render(key, query=turns[last].content)
            turns = (*turns[:last], Message("user", text), *turns[last + 1:])
    return ((Message("system", p.system),) if p.system else ()) + turns


def sample_request(p: SamplingParams, messages: tuple[Message, ...], sample: int) -> Request:
    return Request(p.model, messages, p.temperature, p.max_tokens, sample=sample, top_p=p.top_p, min_p=p.min_p)


class GeneratorParams(SamplingParams):
    samples: Int = Field(1, ge=1, le=MAX_SAMPLES)
    answer_as: Literal["text", "program"] = "text"
    first_finish: Int | None = Field(None, ge=1, le=MAX_SAMPLES)

    @model_validator(mode="after")
    def _first_finish_within_samples(self) -> GeneratorParams:
        if self.first_finish is not None and self.first_finish > self.samples:
            raise ValueError(f"first_finish ({self.first_finish}) must not exceed samples ({self.samples})")
        return self


@COMPONENTS.register("generator")
class Generator(Component):
    """Fallback (answer_as program): a program that fails or prints nothing leaves the model's
    reply itself as the candidate (`program_failed`)."""

    Params = GeneratorParams
    first_layer_only = True
    params: GeneratorParams

    @property
    def exact_calls(self) -> bool:
        """With first_finish, samples queued behind the engine's slots may never start."""
        return self.params.first_finish is None

    def calls(self, n_in: int) -> int:
        return self.params.samples

    def n_out(self, n_in: int) -> int:
        return self.params.first_finish or self.params.samples

    def run(self, item: Item, notes: Notes) -> Steps:
        p = self.params
        program = p.answer_as == "program"
        messages = sample_messages(p, item, "program" if program else None)
        requests = [sample_request(p, messages, s) for s in range(p.samples)]
        if p.first_finish is not None and p.first_finish < p.samples:
            texts = yield FirstFinished(tuple(requests), p.first_finish)
        else:
            texts = yield requests
        if program:
            printed = yield [ProgramRun(extract_code(t)) for t in texts]
            answers = []
            for text, out in zip(texts, printed, strict=True):
                if not out:
                    notes.fallback("program_failed")
                answers.append(out or text)
            texts = answers
        return replace(item, candidates=tuple(Candidate(t) for t in texts))
