"""A pipeline file → a validated PipelineSpec, in two steps so that built-in and plugin
components are treated alike: the top level (name, models, layers as lists of mappings) by
`PipelineFile`, then each component by the `Params` model its registered class declares. Errors
from both steps carry the file and the YAML path, e.g. `layers.1.0.top_k: Input should be ≥ 1`.

Then the composition rules from the Archon paper (§3.2):
1. The first layer holds only generators, and generators appear only in the first layer.
2. One component type per layer (several generators form an ensemble, several fusers a MoA layer).
3. A unit-test evaluator needs a unit-test generator in an earlier layer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from archon_cli.components import COMPONENTS
from archon_cli.config.loader import did_you_mean, problems_from, read_yaml
from archon_cli.config.pipeline import ComponentParams, PipelineFile, PipelineSpec
from archon_cli.config.search import is_search_config, is_space
from archon_cli.errors import ConfigError


def parse_pipeline(data: Any, source: str | Path) -> PipelineSpec:
    """Validate pipeline data (already parsed YAML); raise ConfigError listing every problem."""
    try:
        top = PipelineFile.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise ConfigError(f"{source}: invalid pipeline", problems_from(exc, model=PipelineFile)) from None

    problems: list[str] = []
    layers: list[list[ComponentParams]] = []
    for li, layer in enumerate(top.layers):
        if not layer:
            problems.append(f"layers.{li}: a layer needs at least one component")
        parsed_layer: list[ComponentParams] = []
        for ci, raw in enumerate(layer):
            where = ("layers", li, ci)
            kind = raw.get("type")
            if not isinstance(kind, str):
                problems.append(f"layers.{li}.{ci}.type: required key is missing")
                continue
            try:
                cls = COMPONENTS.get(kind)
            except ConfigError as exc:
                problems.append(f"layers.{li}.{ci}.type: {exc}")
                continue
            alias = raw.get("model")  # checked before the params, so one pass reports both
            if isinstance(alias, str) and "model" in cls.Params.model_fields and alias not in top.models:
                known = ", ".join(sorted(top.models))
                problems.append(f"layers.{li}.{ci}.model: unknown model alias {alias!r}"
                                f"{did_you_mean(alias, top.models)} (defined: {known})")
            try:
                params = cls.Params.model_validate(raw)
            except ValidationError as exc:
                problems.extend(problems_from(exc, where, model=cls.Params))
                continue
            parsed_layer.append(params)
        layers.append(parsed_layer)

    if not problems:
        problems = composition_problems(layers)
    if problems:
        raise ConfigError(f"{source}: invalid pipeline", problems)
    return PipelineSpec(name=top.name, models=top.models, layers=layers)


def load_pipeline(path: Path) -> PipelineSpec:
    data = read_yaml(path)
    if is_search_config(data):
        raise ConfigError(f"{path}: this is a search config: use `archon search {path}`")
    if is_space(data):
        raise ConfigError(f"{path}: this is a search space: name it as `space:` in a search config and use "
                          "`archon search`")
    return parse_pipeline(data, path)


def composition_problems(layers: list[list[ComponentParams]]) -> list[str]:
    problems = []
    seen_types: set[str] = set()
    for li, layer in enumerate(layers):
        types = [c.type for c in layer]
        if len(set(types)) > 1:
            problems.append(f"layers.{li}: one component type per layer (found {', '.join(sorted(set(types)))})")
        for ci, comp in enumerate(layer):
            first_only = COMPONENTS.get(comp.type).first_layer_only
            if li == 0 and not first_only:
                problems.append(f"layers.0.{ci}.type: the first layer must hold generators, not {comp.type!r}")
            if li > 0 and first_only:
                problems.append(f"layers.{li}.{ci}.type: {comp.type!r} belongs in the first layer only")
            if comp.type == "unit_test_evaluator" and "unit_test_generator" not in seen_types:
                problems.append(f"layers.{li}.{ci}.type: a unit_test_evaluator needs a unit_test_generator "
                                "in an earlier layer")
        seen_types.update(types)
    return problems
