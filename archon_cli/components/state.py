"""Typed state that flows between layers. A critique is a field of its candidate, so it
cannot drift out of line when a layer reorders, filters or fuses candidates."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archon_cli.llm.types import Message, Request


@dataclass(frozen=True)
class ExampleInput:
    id: str
    messages: tuple[Message, ...]
    entry_point: str | None = None

    @classmethod
    def from_prompt(cls, id: str, prompt: str, system: str | None = None) -> ExampleInput:
        msgs = ((Message("system", system),) if system else ()) + (Message("user", prompt),)
        return cls(id, msgs)


@dataclass(frozen=True)
class Candidate:
    text: str
    critique: str | None = None
    # Unit tests this candidate passed / ran, when a unit-test evaluator has scored it.
    tests_passed: int | None = None
    tests_total: int | None = None


@dataclass(frozen=True)
class Item:
    """What a component sees of one example: the conversation and the current candidates."""

    messages: tuple[Message, ...]
    candidates: tuple[Candidate, ...] = ()
    unit_tests: tuple[str, ...] = ()
    # Code tasks carry an entry point; unit tests are then executed, not judged.
    entry_point: str | None = None

    @property
    def query(self) -> str:
        """The last user turn: what every judge-style prompt quotes."""
        for msg in reversed(self.messages):
            if msg.role == "user":
                return msg.content
        return ""


@dataclass(frozen=True)
class SandboxRun:
    """A sandboxed run a component asks for: execute `program` followed by each assert of
    `tests`; the executor answers with the number that passed, as text like every answer."""

    program: str
    tests: tuple[str, ...]


@dataclass(frozen=True)
class ProgramRun:
    """A sandboxed run of a whole program (program-aided answering); the executor answers with
    what it printed to stdout, stripped (empty when it failed or printed nothing)."""

    program: str


@dataclass(frozen=True)
class FirstFinished:
    """Requests of which only the first `k` to finish are wanted (first-finish sampling): once k
    have answered the executor cancels the rest, whose tokens are then never written; it answers
    with the k texts, in request order."""

    requests: tuple[Request, ...]
    k: int


@dataclass
class Notes:
    """What a component reports besides its output: fallbacks taken when a model ignored the
    requested format (counted per component in the usage record), and, when the run is traced
    (`keep_details`), what it decided on the way: a ranking, scores, verdicts (`detail`).

    Details are JSON-ready values; candidate positions in them are 1-based, in the order the
    component received its candidates (the `[1]`, `[2]` numbering of the prompts)."""

    fallbacks: dict[str, int] = field(default_factory=dict)
    keep_details: bool = False
    details: dict[str, Any] = field(default_factory=dict)

    def fallback(self, reason: str) -> None:
        self.fallbacks[reason] = self.fallbacks.get(reason, 0) + 1

    def detail(self, key: str, value: Any) -> None:
        """Keep `value` for the trace; nothing is kept when the run is not traced."""
        if self.keep_details:
            self.details[key] = value
