"""Search space → params → pipeline spec.

One walker reads the block tree of a SpaceSpec and asks a `Chooser` for every decision. The
same walk serves three callers, so names and structure cannot drift apart:
- `OptunaChooser` (define-by-run: `trial.suggest_*`),
- `DictChooser` (rebuild a spec from stored params: replay, export, resume),
- `ScriptChooser` (depth-first enumeration: space size, calls-per-query range, grid, seeds).
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from archon_cli.components import COMPONENTS
from archon_cli.components.validate import parse_pipeline
from archon_cli.config.bounds import MAX_LAYERS
from archon_cli.config.pipeline import ModelSpec, PipelineSpec
from archon_cli.config.space import Block, Choices, ComponentSpace, FloatRange, IntRange, Param, Scalar, SpaceSpec
from archon_cli.errors import ConfigError
from archon_cli.pipeline import Pipeline

ENUMERATION_LIMIT = 20000  # configurations enumerated for size / calls range / grid / seeds: seconds, not minutes
ENUMERATION_WORK = 150_000  # components walked in all (~30 µs each): deep repeats stop sooner than 20000


class Infeasible(Exception):
    """These params give no valid pipeline (composition rules, empty pipeline, over budget)."""


class Chooser(Protocol):
    def int(self, name: str, lo: int, hi: int, step: int, log: bool) -> int: ...
    def float(self, name: str, lo: float, hi: float, log: bool) -> float: ...
    def categorical(self, name: str, choices: list[Scalar]) -> Scalar: ...


Layers = list[list[dict[str, Any]]]


@dataclass
class _Walk:
    space: SpaceSpec
    models: list[str]
    chooser: Chooser

    def blocks(self, blocks: list[Block], prefix: str) -> Layers:
        out: Layers = []
        for j, block in enumerate(blocks):
            out += self.block(block, block.name or f"{prefix}{j}")
        return out

    def block(self, b: Block, name: str) -> Layers:
        if b.optional and not self.chooser.categorical(f"{name}.use", [True, False]):
            return []
        reps = int(value(self.chooser, f"{name}.repeat", b.repeat))  # type: ignore[arg-type]
        if reps <= 0:
            return []
        if b.component is not None:
            body = [self.component(b.component, name)]
        elif b.choice is not None:
            key = str(self.chooser.categorical(f"{name}.choice", list(b.choice)))
            body = self.blocks(b.choice[key], f"{name}.{key}.")
        else:
            body = self.blocks(b.blocks or [], f"{name}.")
        if reps * len(body) > MAX_LAYERS:  # before copying: nested repeats multiply
            raise Infeasible(f"{name}: {reps} × {len(body)} layers, more than a pipeline may have ({MAX_LAYERS})")
        return [copy.deepcopy(layer) for _ in range(reps) for layer in body]

    def component(self, c: ComponentSpace, name: str) -> list[dict[str, Any]]:
        # `L2.ranker.top_k`; a block already named after its type is not repeated (`fuse.critic`)
        prefix = name if name.rsplit(".", 1)[-1] == c.type else f"{name}.{c.type}"
        fields = COMPONENTS.get(c.type).Params.model_fields
        comp: dict[str, Any] = {"type": c.type}
        for key, val in self.space.defaults.items():
            if key in fields:
                comp[key] = val
        for key, param in c.params.items():
            comp[key] = value(self.chooser, f"{prefix}.{key}", param)
        if c.ensemble is not None:
            return [comp | {"model": alias} for alias in self.ensemble(c, prefix)]
        if "model" in fields:
            if isinstance(c.model, Choices):
                comp["model"] = self.chooser.categorical(f"{prefix}.model", c.model.choices)
            else:
                comp["model"] = c.model or self.models[0]
        return [comp]

    def ensemble(self, c: ComponentSpace, prefix: str) -> list[str]:
        assert c.ensemble is not None  # checked by the caller
        if c.ensemble.top_k is not None:
            top = c.ensemble.top_k
            if isinstance(top, IntRange):  # the range cannot go past the ranked list
                top = IntRange.model_validate({"int": (min(top.bounds[0], len(self.models)),
                                                       min(top.bounds[1], len(self.models))),
                                               "step": top.step, "log": top.log})
            k = int(value(self.chooser, f"{prefix}.models", top))  # type: ignore[arg-type]
            if not 1 <= k <= len(self.models):
                raise Infeasible(f"{prefix}.models: {k} models asked, {len(self.models)} ranked")
            return self.models[:k]
        chosen = [a for a in self.models if self.chooser.categorical(f"{prefix}.use_{a}", [True, False])]
        if not chosen:
            raise Infeasible(f"{prefix}: the ensemble needs at least one model")
        return chosen


def value(chooser: Chooser, name: str, param: Param) -> Scalar:
    if isinstance(param, IntRange):
        return chooser.int(name, param.bounds[0], param.bounds[1], param.step, param.log)
    if isinstance(param, FloatRange):
        return chooser.float(name, param.bounds[0], param.bounds[1], param.log)
    if isinstance(param, Choices):
        return chooser.categorical(name, param.choices)
    return param


def walk(space: SpaceSpec, models: dict[str, ModelSpec], chooser: Chooser) -> Layers:
    return _Walk(space, list(models), chooser).blocks(space.layers, "L")


def to_spec(space: SpaceSpec, models: dict[str, ModelSpec], layers: Layers, name: str | None = None) -> PipelineSpec:
    """Validate walked layers as a pipeline; rule violations are Infeasible, not crashes."""
    data = {"name": name or space.name, "models": {k: v.model_dump(exclude_defaults=True) for k, v in models.items()},
            "layers": layers}
    if not layers:
        raise Infeasible("every layer was left out")
    try:
        return parse_pipeline(data, "search space")
    except ConfigError as exc:
        raise Infeasible("; ".join(exc.problems) or str(exc)) from None


def build(space: SpaceSpec, models: dict[str, ModelSpec], params: dict[str, Any], name: str | None = None
          ) -> PipelineSpec:
    """The pipeline spec for stored params (the inverse of a trial's suggestions)."""
    return to_spec(space, models, walk(space, models, DictChooser(params)), name)


class DictChooser:
    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params

    def _get(self, name: str) -> Any:
        try:
            return self.params[name]
        except KeyError:
            raise ConfigError(f"parameter {name!r} is missing from the stored params") from None

    def int(self, name: str, lo: int, hi: int, step: int, log: bool) -> int:
        return int(self._get(name))

    def float(self, name: str, lo: float, hi: float, log: bool) -> float:
        return float(self._get(name))

    def categorical(self, name: str, choices: list[Scalar]) -> Scalar:
        return self._get(name)


class OptunaChooser:
    def __init__(self, trial: Any) -> None:
        self.trial = trial

    def int(self, name: str, lo: int, hi: int, step: int, log: bool) -> int:
        return int(self.trial.suggest_int(name, lo, hi, step=step, log=log))

    def float(self, name: str, lo: float, hi: float, log: bool) -> float:
        return float(self.trial.suggest_float(name, lo, hi, log=log))

    def categorical(self, name: str, choices: list[Scalar]) -> Scalar:
        return self.trial.suggest_categorical(name, choices)


@dataclass
class ScriptChooser:
    """Takes option `script[i]` at decision i (0 past the end) and records the options seen.
    Continuous ranges count as one point, their midpoint."""

    script: list[int]
    taken: list[int] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    continuous: bool = False

    def _pick(self, name: str, options: Sequence[Any]) -> Any:
        i = len(self.taken)
        idx = self.script[i] if i < len(self.script) else 0
        self.taken.append(idx)
        self.sizes.append(len(options))
        self.params[name] = options[idx]
        return options[idx]

    def int(self, name: str, lo: int, hi: int, step: int, log: bool) -> int:
        return int(self._pick(name, range(lo, hi + 1, step)))  # a range object: {int: [1, 1e9]} costs nothing

    def float(self, name: str, lo: float, hi: float, log: bool) -> float:
        self.continuous = self.continuous or lo != hi
        mid = (lo * hi) ** 0.5 if log else (lo + hi) / 2
        return float(self._pick(name, [round(mid, 4)]))

    def categorical(self, name: str, choices: list[Scalar]) -> Scalar:
        return self._pick(name, list(choices))


@dataclass(frozen=True)
class Point:
    params: dict[str, Any]
    spec: PipelineSpec | None  # None: infeasible
    reason: str = ""


def enumerate_space(space: SpaceSpec, models: dict[str, ModelSpec], limit: int = ENUMERATION_LIMIT,
                    max_work: int = ENUMERATION_WORK) -> Enumeration:
    """Every configuration, depth first over the decision tree, lazily: at most `limit` of them
    and `max_work` components walked in all (`.complete` says whether the tree was exhausted)."""
    return Enumeration(space, models, limit, max_work)


@dataclass
class Enumeration:
    space: SpaceSpec
    models: dict[str, ModelSpec]
    limit: int
    max_work: int
    complete: bool = False  # set once iteration has visited every configuration

    def __iter__(self) -> Iterator[Point]:
        script: list[int] = []
        work = 0
        for _ in range(self.limit):
            if work >= self.max_work:
                return
            chooser = ScriptChooser(script)
            layers: Layers = []
            try:
                layers = walk(self.space, self.models, chooser)
                spec: PipelineSpec | None = to_spec(self.space, self.models, layers)
                reason = ""
            except Infeasible as exc:
                spec, reason = None, str(exc)
            work += max(1, sum(len(layer) for layer in layers))
            yield Point(dict(chooser.params), spec, reason)
            i = len(chooser.taken) - 1
            while i >= 0 and chooser.taken[i] + 1 >= chooser.sizes[i]:
                i -= 1
            if i < 0:
                self.complete = True
                return
            script = [*chooser.taken[:i], chooser.taken[i] + 1]


def count_configurations(space: SpaceSpec, models: dict[str, ModelSpec]) -> int:
    """How many configurations the walk can take, in closed form (a product of the options of
    independent decisions, a sum over the alternatives of a choice): never enumerated, so
    `{int: [1, 1000000000]}` costs nothing. Continuous ranges count once, as in ScriptChooser."""
    return _count_blocks(space, len(models), space.layers)


def _count_blocks(space: SpaceSpec, n_models: int, blocks: list[Block]) -> int:
    total = 1
    for b in blocks:
        total *= _count_block(space, n_models, b)
    return total


def _count_block(space: SpaceSpec, n_models: int, b: Block) -> int:
    if b.component is not None:
        body = _count_component(b.component, n_models)
    elif b.choice is not None:
        body = sum(_count_blocks(space, n_models, alt) for alt in b.choice.values())
    else:
        body = _count_blocks(space, n_models, b.blocks or [])
    reps = _values(b.repeat)
    left_out = len(range(reps.start, min(reps.stop, 1), reps.step)) if reps.start < 1 else 0  # 0 repeats = nothing
    n = left_out + (len(reps) - left_out) * body
    return 1 + n if b.optional else n


def _count_component(c: ComponentSpace, n_models: int) -> int:
    n = 1
    for param in c.params.values():
        n *= len(_values(param)) if isinstance(param, IntRange) else len(param.choices) if isinstance(param, Choices) \
            else 1
    if c.ensemble is not None:
        top = c.ensemble.top_k
        if c.ensemble.subsets:
            return n * 2 ** n_models
        if isinstance(top, IntRange):
            lo, hi = min(top.bounds[0], n_models), min(top.bounds[1], n_models)
            return n * len(range(lo, hi + 1, top.step))
        return n
    if isinstance(c.model, Choices) and "model" in COMPONENTS.get(c.type).Params.model_fields:
        n *= len(c.model.choices)
    return n


def _values(r: int | IntRange) -> range:
    return range(r, r + 1) if isinstance(r, int) else range(r.bounds[0], r.bounds[1] + 1, r.step)


@dataclass(frozen=True)
class SpaceSummary:
    size: int  # every configuration (closed form)
    feasible: int  # valid pipelines among the `checked` first ones
    calls_min: int | None
    calls_max: int | None
    continuous: bool
    truncated: bool  # checked < size: the enumeration stopped at its limit
    checked: int = 0
    common_reason: str = ""  # the most frequent reason a configuration is not a valid pipeline


def summarize(space: SpaceSpec, models: dict[str, ModelSpec], limit: int = ENUMERATION_LIMIT) -> SpaceSummary:
    checked = feasible = 0
    calls: list[int] = []
    reasons: Counter[str] = Counter()
    points = enumerate_space(space, models, limit)
    for point in points:
        checked += 1
        if point.spec is not None:
            feasible += 1
            calls.append(Pipeline(point.spec).estimate_calls().calls)
        else:
            reasons[point.reason] += 1
    truncated = not points.complete
    probe = ScriptChooser([])
    try:
        walk(space, models, probe)
    except Infeasible:
        pass
    continuous = probe.continuous or _has_float(space.layers)
    size = count_configurations(space, models) if truncated else checked
    common = reasons.most_common(1)[0][0] if reasons else ""
    return SpaceSummary(size, feasible, min(calls, default=None), max(calls, default=None), continuous,
                        truncated, checked, common)


def _has_float(blocks: list[Block]) -> bool:
    for b in blocks:
        if b.component is not None and any(isinstance(p, FloatRange) for p in b.component.params.values()):
            return True
        children = [c for alt in (b.choice or {}).values() for c in alt] + (b.blocks or [])
        if _has_float(children):
            return True
    return False
