"""The component extension point.

Lifecycle:
1. The pipeline builds one instance per component spec: `Component(params)`.
2. Before any call, `calls(n_in)` and `n_out(n_in)` give the exact number of LLM calls one
   example costs and how many candidates come out, for `n_in` candidates in (an upper bound
   where the output count depends on the model, e.g. a verifier's filter).
3. For each example, the executor drives `run(item, notes)`, a generator: it yields a list of
   Requests (LLM calls) and SandboxRuns (sandboxed code runs), receives their answers as texts in
   the same order, may yield again, and finally returns the new Item. A ProgramRun (a whole
   program run in the sandbox) is answered with its printed output. Components do no I/O and
   keep no state between examples.

A component must not fail an example because a model ignored the requested format: it parses
leniently, falls back to a documented default and reports it with `notes.fallback(reason)`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Generator, Sequence
from typing import Any, ClassVar

from archon_cli.components.prompts import Prompts
from archon_cli.components.state import Candidate, FirstFinished, Item, Notes, ProgramRun, SandboxRun
from archon_cli.components.structured import Structured
from archon_cli.config.pipeline import ComponentParams, ModelComponentParams
from archon_cli.llm.types import Message, Request

Steps = Generator[Sequence[Request | SandboxRun | ProgramRun] | FirstFinished, list[str], Item]


class Component(ABC):
    Params: ClassVar[type[ComponentParams]]
    # May appear in the first layer (reads the conversation) / only there.
    first_layer_only: ClassVar[bool] = False
    # False when `n_out` is only an upper bound (the model decides how many candidates pass).
    exact_n_out: ClassVar[bool] = True

    @property
    def exact_calls(self) -> bool:
        """False when `calls()` is only an upper bound (it depends on the examples)."""
        return True

    def __init__(self, params: ComponentParams) -> None:
        self.params = params

    @abstractmethod
    def calls(self, n_in: int) -> int: ...

    @abstractmethod
    def n_out(self, n_in: int) -> int: ...

    @abstractmethod
    def run(self, item: Item, notes: Notes) -> Steps: ...


class LLMComponent(Component):
    """A component that calls one model with prompts from `prompts/<type>.yaml`."""

    params: ModelComponentParams

    def __init__(self, params: ComponentParams) -> None:
        super().__init__(params)
        self.prompts = Prompts.for_component(params.type)

    def request(self, user: str, *, sample: int = 0, max_tokens: int | None = None,
                history: tuple[Message, ...] = (), schema: dict[str, Any] | None = None,
                structured: Structured = "off", schema_max_tokens: int | None = None) -> Request:
        """`schema`: the JSON schema the reply should follow, attached unless `structured` is off
        (see components/structured.py); `schema_max_tokens` replaces max_tokens when it is sent."""
        system = self.prompts.get("system")
        messages = ((Message("system", system),) if system else ()) + history + (Message("user", user),)
        return Request(
            model=self.params.model,
            messages=messages,
            temperature=self.params.temperature,
            max_tokens=max_tokens or self.params.max_tokens,
            sample=sample,
            json_schema=schema if structured != "off" else None,
            require_schema=structured == "on",
            schema_max_tokens=schema_max_tokens if structured != "off" else None,
        )


def numbered(candidates: tuple[Candidate, ...], with_critiques: bool = True) -> str:
    """Candidates as `[1] text` blocks, each followed by its critique when it has one."""
    blocks = []
    for i, cand in enumerate(candidates, 1):
        block = f"[{i}] {cand.text.strip()}"
        if with_critiques and cand.critique:
            block += f"\nCritique of [{i}]: {cand.critique.strip()}"
        blocks.append(block)
    return "\n\n".join(blocks)
