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

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    StrictStr,
    Tag,
    field_validator,
    model_validator,
)

from archon_cli.config.bounds import MAX_LAYERS, MAX_RANGE, MAX_REPEAT, Bool, Float, Int
from archon_cli.config.loader import TAG_PREFIX, read_yaml, validate
from archon_cli.config.pipeline import ModelSpec


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


RangeEnd = Annotated[Int, Field(ge=-MAX_RANGE, le=MAX_RANGE)]


class IntRange(Strict):
    bounds: tuple[RangeEnd, RangeEnd] = Field(alias="int")
    step: Int = Field(1, ge=1, le=MAX_RANGE)
    log: Bool = False

    @model_validator(mode="after")
    def _ordered(self) -> IntRange:
        if self.bounds[0] > self.bounds[1]:
            raise ValueError("int range: low must be ≤ high")
        if self.log and self.bounds[0] < 1:
            raise ValueError("int range: log: true needs low ≥ 1")
        if self.log and self.step != 1:
            raise ValueError("int range: log: true needs step 1")
        return self


class FloatRange(Strict):
    bounds: tuple[Annotated[Float, Field(ge=-MAX_RANGE, le=MAX_RANGE)],
                  Annotated[Float, Field(ge=-MAX_RANGE, le=MAX_RANGE)]] = Field(alias="float")
    log: Bool = False

    @model_validator(mode="after")
    def _ordered(self) -> FloatRange:
        if self.bounds[0] > self.bounds[1]:
            raise ValueError("float range: low must be ≤ high")
        if self.log and self.bounds[0] <= 0:
            raise ValueError("float range: log: true needs low > 0")
        return self


Scalar = bool | int | float | str | None
RANGE_HELP = "a range is {int: [lo, hi]}, {float: [lo, hi]} or {choices: [...]}"


def _scalar(value: Any) -> Scalar:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise ValueError(f"a fixed value is a number, string, boolean or null; {RANGE_HELP}")


# One validator, one message: not pydantic's attempt at every member of a union.
Fixed = Annotated[Scalar, PlainValidator(_scalar)]


class Choices(Strict):
    choices: list[Fixed] = Field(min_length=1, max_length=10_000)


def _one_of(pick: Callable[[Any], str | None], help: str) -> Discriminator:
    """Validate against the one union member `pick(value)` names, so an error carries that
    member's problems only (the loader drops the tag from the YAML path), or `help` when none fits."""
    return Discriminator(lambda v: None if (tag := pick(v)) is None else TAG_PREFIX + tag,
                         custom_error_type="invalid_value", custom_error_message=help)


def _tag(name: str) -> Tag:
    return Tag(TAG_PREFIX + name)


_RANGE_TYPES = {"int": IntRange, "float": FloatRange, "choices": Choices}


def _range_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        kinds = set(value) & set(_RANGE_TYPES)
        return kinds.pop() if len(kinds) == 1 else None
    for tag, cls in _RANGE_TYPES.items():
        if isinstance(value, cls):
            return tag
    return "fixed"


Param = Annotated[
    Annotated[IntRange, _tag("int")] | Annotated[FloatRange, _tag("float")] | Annotated[Choices, _tag("choices")]
    | Annotated[Fixed, _tag("fixed")],
    _one_of(_range_kind, RANGE_HELP)]

IntOrRange = Annotated[
    Annotated[IntRange, _tag("range")] | Annotated[Int, _tag("fixed")],
    _one_of(lambda v: "range" if isinstance(v, dict | IntRange) else "fixed", "an integer or {int: [lo, hi]}")]

ModelChoice = Annotated[
    Annotated[Choices, _tag("choices")] | Annotated[StrictStr, _tag("alias")],
    _one_of(lambda v: "choices" if isinstance(v, dict | Choices) else "alias", "a model alias or {choices: [...]}")]


class Ensemble(Strict):
    """A generator layer over the ranked models: the first `top_k`, or any non-empty subset."""

    top_k: IntOrRange | None = None
    subsets: Bool = False

    @model_validator(mode="after")
    def _one_mode(self) -> Ensemble:
        if (self.top_k is None) == (not self.subsets):
            raise ValueError("give exactly one of top_k or subsets: true")
        return self


class ComponentSpace(Strict):
    type: StrictStr
    # A model alias, or {choices: [...]}; unset = the top-ranked model.
    model: ModelChoice | None = None
    ensemble: Ensemble | None = None
    params: dict[str, Param] = Field(default_factory=dict)


class Block(Strict):
    name: StrictStr | None = None
    optional: Bool = False
    repeat: IntOrRange = 1
    component: ComponentSpace | None = None
    choice: dict[str, list[Block]] | None = None
    blocks: list[Block] | None = Field(None, max_length=MAX_LAYERS)

    @model_validator(mode="after")
    def _one_kind(self) -> Block:
        kinds = [k for k in ("component", "choice", "blocks") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("a block needs exactly one of component, choice, blocks")
        if self.choice is not None and not self.choice:
            raise ValueError("choice needs at least one alternative")
        return self

    @field_validator("repeat")
    @classmethod
    def _bounded(cls, repeat: int | IntRange) -> int | IntRange:
        lo, hi = repeat.bounds if isinstance(repeat, IntRange) else (repeat, repeat)
        if lo < 0 or hi > MAX_REPEAT:
            raise ValueError(f"between 0 and {MAX_REPEAT} repetitions")
        return repeat


class SpaceSpec(Strict):
    name: StrictStr = "space"
    # Ranked, best first (ensembles take the top k). A search config's `models` replaces these.
    models: dict[str, ModelSpec] = Field(default_factory=dict)
    # Fixed parameters applied to every component that has the field (e.g. max_tokens: 64),
    # unless the block sets it.
    defaults: dict[str, Fixed] = Field(default_factory=dict)
    layers: list[Block] = Field(min_length=1, max_length=MAX_LAYERS)


def load_space(path: Path) -> SpaceSpec:
    return validate(SpaceSpec, read_yaml(path), path)


def parse_space(data: Any, source: str | Path) -> SpaceSpec:
    return validate(SpaceSpec, data, source)
