"""Search-space schema: a tree of blocks that the search turns into pipeline specs.

A space lists ranked `models` (best first) and `layers`, a list of blocks. A block is one of
- `component`: one layer holding one technique (or, for a generator with `ensemble`, one
  generator per chosen model), whose parameters are fixed values or ranges;
- `choice`: a choice between named alternatives, each a list of blocks (`[]` = nothing);
- `blocks`: a group of blocks, e.g. critic → ranker → fuser;
and may be `optional` (kept or dropped) and `repeat`ed (a range of repetitions; the
repetitions share their parameters). Ranges: `{int: [lo, hi], step: 1}`, `{float: [lo, hi]}`,
`{choices: [a, b]}`; any other value is fixed.

Optuna parameter names are made of block names: `L2.ranker.top_k`, `L3.use`, `fuse.repeat`,
`eval.choice`, `L0.generator.models` (top-k models of the ranked list). Top-level blocks
are named `L<i>` unless given a `name`; nested blocks `<parent>.<j>`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from archon_cli.config.loader import read_yaml, validate
from archon_cli.config.pipeline import ModelSpec


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IntRange(Strict):
    bounds: tuple[int, int] = Field(alias="int")
    step: int = Field(1, ge=1)
    log: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> IntRange:
        if self.bounds[0] > self.bounds[1]:
            raise ValueError("int range: low must be ≤ high")
        return self


class FloatRange(Strict):
    bounds: tuple[float, float] = Field(alias="float")
    log: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> FloatRange:
        if self.bounds[0] > self.bounds[1]:
            raise ValueError("float range: low must be ≤ high")
        return self


Scalar = bool | int | float | str | None


class Choices(Strict):
    choices: list[Scalar] = Field(min_length=1)


Param = IntRange | FloatRange | Choices | Scalar


class Ensemble(Strict):
    """A generator layer over the ranked models: the first `top_k`, or any non-empty subset."""

    top_k: int | IntRange | None = None
    subsets: bool = False

    @model_validator(mode="after")
    def _one_mode(self) -> Ensemble:
        if (self.top_k is None) == (not self.subsets):
            raise ValueError("give exactly one of top_k or subsets: true")
        return self


class ComponentSpace(Strict):
    type: str
    # A model alias, or {choices: [...]}; unset = the top-ranked model.
    model: str | Choices | None = None
    ensemble: Ensemble | None = None
    params: dict[str, Param] = Field(default_factory=dict)


class Block(Strict):
    name: str | None = None
    optional: bool = False
    repeat: int | IntRange = 1
    component: ComponentSpace | None = None
    choice: dict[str, list[Block]] | None = None
    blocks: list[Block] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Block:
        kinds = [k for k in ("component", "choice", "blocks") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("a block needs exactly one of component, choice, blocks")
        if self.choice is not None and not self.choice:
            raise ValueError("choice needs at least one alternative")
        return self


class SpaceSpec(Strict):
    name: str = "space"
    # Ranked, best first (ensembles take the top k). A search config's `models` replaces these.
    models: dict[str, ModelSpec] = Field(default_factory=dict)
    # Fixed parameters applied to every component that has the field (e.g. max_tokens: 64),
    # unless the block sets it.
    defaults: dict[str, Scalar] = Field(default_factory=dict)
    layers: list[Block] = Field(min_length=1)


def load_space(path: Path) -> SpaceSpec:
    return validate(SpaceSpec, read_yaml(path), path)


def parse_space(data: Any, source: str | Path) -> SpaceSpec:
    return validate(SpaceSpec, data, source)
