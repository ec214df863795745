"""The dataset and scorer extension points.

Dataset lifecycle: registered by name; `load(limit, seed)` returns Examples with stable ids
(the same seed gives the same examples), no download at run time.
Scorer lifecycle: built once per evaluation as `Scorer(options)` (ScorerOptions: a judge model and
client, sandbox workers...); `score(example, output)` returns a value in [0, 1], or raises
ScoreError when the output cannot be judged at all (recorded as that example's failure, not as a
zero). `score_many` scores a batch; scorers that do I/O (sandbox runs, judge calls) override it
to work concurrently. Commands call `score_outputs`, which scores a blank output 0 before any
scorer sees it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from archon_cli.components.state import ExampleInput

if TYPE_CHECKING:
    from archon_cli.config.pipeline import ModelSpec
    from archon_cli.llm.client import LLMClient


class ScoreError(Exception):
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

    def default_size(self) -> int | None:
        """Examples `load()` gives without a limit (a generated dataset's default; None: unknown)."""
        return self.size()


@dataclass
class ScorerOptions:
    """What a scorer may need besides the example and the output."""

    judge_model: ModelSpec | None = None  # e.g. ModelSpec(model="local/smollm2-135m")
    judge_client: LLMClient | None = None  # opened by the command; its models must hold `judge_alias`
    judge_alias: str = "judge"
    judge_mode: Literal["single", "pairwise"] = "single"
    judge_max_tokens: int = 256  # room for a short explanation before the verdict
    workers: int = 4  # concurrent sandbox runs / judge calls


class Scorer(ABC):
    name: ClassVar[str]
    description: ClassVar[str] = ""
    # Short answers that a majority vote can count (numbers, letters, exact strings); free text,
    # code and judged answers cannot be voted on.
    votable: ClassVar[bool] = False

    def __init__(self, options: ScorerOptions | None = None) -> None:
        self.options = options or ScorerOptions()

    @abstractmethod
    def score(self, example: Example, output: str) -> float: ...

    def score_outputs(self, pairs: list[tuple[Example, str]]) -> list[float | ScoreError]:
        """What commands call: a blank output is a wrong answer (0) for every scorer, whatever the
        reference (one that normalizes to nothing, a regex matching ""); the rest go to `score_many`."""
        answered = [(ex, out) for ex, out in pairs if out.strip()]
        scored = iter(self.score_many(answered) if answered else [])
        return [next(scored) if out.strip() else 0.0 for _, out in pairs]

    def score_many(self, pairs: list[tuple[Example, str]]) -> list[float | ScoreError]:
        """Score each (example, output); a ScoreError is returned in place, not raised."""
        results: list[float | ScoreError] = []
        for example, output in pairs:
            try:
                results.append(self.score(example, output))
            except ScoreError as exc:
                results.append(exc)
        return results
