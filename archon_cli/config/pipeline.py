"""Pipeline spec: the one object that travels (search → evaluator, run, replay, export, serve).

A pipeline YAML is validated in two steps so that built-in and plugin components are treated
alike: the top level (name, models, layers as lists of mappings) by `PipelineFile`, then each
component by the `Params` model its registered class declares. Errors from both steps carry the
file and the YAML path, e.g. `layers.1.0.top_k: Input should be greater than or equal to 1`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, ValidationError

from archon_cli.config.loader import dump_yaml, problems_from, read_yaml
from archon_cli.errors import ConfigError


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Price(Strict):
    input_per_mtok: float = Field(0.0, ge=0)
    output_per_mtok: float = Field(0.0, ge=0)


class ModelSpec(Strict):
    """One model alias. `model` is a litellm model string or `local/...`, `vllm/...`."""

    model: str = Field(min_length=1)
    api_base: str | None = None
    # Name of the environment variable holding the key; the key itself never enters a file.
    api_key_env: str | None = None
    price: Price = Price()
    # None = engine default (embedded engine: its slot count; hosted APIs: 16).
    max_concurrency: int | None = Field(None, ge=1)
    timeout_s: float = Field(120.0, gt=0)
    # Engines the tool starts itself (local/..., vllm/... without api_base). Replicas run as
    # supervised Ray actors when the search runs on Ray; one replica otherwise.
    replicas: int = Field(1, ge=1)
    # vLLM: also its tensor-parallel size; local/: > 0 puts every layer on the GPUs (CUDA xllamacpp)
    gpus_per_replica: int = Field(0, ge=0)
    cpus_per_replica: float = Field(1.0, ge=0)
    engine_args: list[str] = Field(default_factory=list)  # extra command-line flags for vllm serve


class ComponentParams(Strict):
    """Parameters shared by every component; each component subclasses this as `Params`."""

    type: str


class ModelComponentParams(ComponentParams):
    model: str = Field(min_length=1, description="a model alias from `models`")
    temperature: float = Field(0.0, ge=0, le=2)
    max_tokens: int = Field(256, ge=1)


class PipelineFile(Strict):
    name: str = "pipeline"
    models: dict[str, ModelSpec] = Field(min_length=1)
    layers: list[list[dict[str, Any]]] = Field(min_length=1)


class PipelineSpec(Strict):
    name: str
    models: dict[str, ModelSpec]
    layers: list[list[SerializeAsAny[ComponentParams]]]

    def to_yaml_data(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "models": {k: v.model_dump(exclude_defaults=True) for k, v in self.models.items()},
            "layers": [[c.model_dump(exclude_defaults=False) for c in layer] for layer in self.layers],
        }

    def to_yaml(self) -> str:
        return dump_yaml(self.to_yaml_data())


def parse_pipeline(data: Any, source: str | Path) -> PipelineSpec:
    """Validate pipeline data (already parsed YAML); raise ConfigError listing every problem."""
    from archon_cli.components import COMPONENTS
    from archon_cli.components.rules import composition_problems

    try:
        top = PipelineFile.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise ConfigError(f"{source}: invalid pipeline", problems_from(exc)) from None

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
            try:
                params = cls.Params.model_validate(raw)
            except ValidationError as exc:
                problems.extend(problems_from(exc, where))
                continue
            alias = getattr(params, "model", None)
            if alias is not None and alias not in top.models:
                known = ", ".join(sorted(top.models))
                problems.append(f"layers.{li}.{ci}.model: unknown model alias {alias!r} (defined: {known})")
            parsed_layer.append(params)
        layers.append(parsed_layer)

    if not problems:
        problems = composition_problems(layers)
    if problems:
        raise ConfigError(f"{source}: invalid pipeline", problems)
    return PipelineSpec(name=top.name, models=top.models, layers=layers)


def load_pipeline(path: Path) -> PipelineSpec:
    return parse_pipeline(read_yaml(path), path)
