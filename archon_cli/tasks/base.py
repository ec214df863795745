"""The dataset and scorer extension points.

Dataset lifecycle: registered by name; `load(limit, seed)` returns Examples with stable ids
(the same seed gives the same examples), no download at run time.
Scorer lifecycle: built once per evaluation with its options; `score(example, output)` returns
a value in [0, 1], or raises ScoreError when the output cannot be judged at all (recorded as
that example's failure, not as a zero).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from archon_cli.errors import ArchonError
from archon_cli.pipeline import ExampleInput


class ScoreError(ArchonError):
    """The output could not be scored (e.g. a judge's verdict was unreadable)."""


@dataclass(frozen=True)
class Example:
    id: str
    input: str
    reference: str | None = None
    system: str | None = None
    tests: str | None = None  # code tasks: hidden tests run by the code_tests scorer
    entry_point: str | None = None
    choices: tuple[str, ...] | None = None
    meta: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def to_input(self) -> ExampleInput:
        base = ExampleInput.from_prompt(self.id, self.input, self.system)
        return ExampleInput(base.id, base.messages, self.entry_point)


class Dataset(ABC):
    name: ClassVar[str]
    description: ClassVar[str]
    default_scorer: ClassVar[str]
    license: ClassVar[str]

    @abstractmethod
    def load(self, limit: int | None = None, seed: int = 0) -> list[Example]: ...

    def size(self) -> int | None:
        """Number of examples, or None for generated datasets (any size)."""
        return None


class Scorer(ABC):
    name: ClassVar[str]

    @abstractmethod
    def score(self, example: Example, output: str) -> float: ...
