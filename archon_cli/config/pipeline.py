"""Pipeline spec: the one object that travels (search → evaluator, run, replay, export, serve).

Pure schemas: the top level of a pipeline file (`PipelineFile`), the validated spec and the
parameters every component shares. Checking each component against the `Params` its registered
class declares needs the registry, so it lives in `components/validate.py`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny

from archon_cli.config.bounds import MAX_LAYERS, MAX_REPLICAS, MAX_TIMEOUT_S, MAX_TOKENS, Float, Int
from archon_cli.config.loader import dump_yaml


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Price(Strict):
    input_per_mtok: Float = Field(0.0, ge=0, le=10_000)
    output_per_mtok: Float = Field(0.0, ge=0, le=10_000)


class ModelSpec(Strict):
    """One model alias. `model` is a litellm model string or `local/...`, `vllm/...`."""

    model: str = Field(min_length=1)
    api_base: str | None = None
    # Name of the environment variable holding the key; the key itself never enters a file.
    api_key_env: str | None = None
    price: Price = Price()
    # None = engine default (embedded engine: its slot count; hosted APIs: 16).
    max_concurrency: Int | None = Field(None, ge=1, le=4096)
    # Deadlines of one call (README, "Timeouts"). `timeout_s`: the whole call, every attempt and
    # backoff included (connect, queue, first byte, body); None = 300 s for hosted APIs and
    # servers at `api_base`, none for engines the tool runs (their calls stream, and a call that
    # is still producing tokens is never cut). `idle_timeout_s`: the longest wait for the next
    # byte (hosted) or for a token from the engine (engines the tool runs), first one included.
    timeout_s: Float | None = Field(None, gt=0, le=MAX_TIMEOUT_S)
    idle_timeout_s: Float = Field(60.0, gt=0, le=MAX_TIMEOUT_S)
    # CPU threads of an embedded (local/) engine; None = the default in llm/engines/llamacpp.py.
    threads: Int | None = Field(None, ge=1, le=1024)
    # Engines the tool starts itself (local/..., vllm/... without api_base). Replicas run as
    # supervised Ray actors when the search runs on Ray; one replica otherwise.
    replicas: Int = Field(1, ge=1, le=MAX_REPLICAS)
    # vLLM: also its tensor-parallel size; local/: > 0 puts every layer on the GPUs (CUDA xllamacpp)
    gpus_per_replica: Int = Field(0, ge=0, le=64)
    cpus_per_replica: Float = Field(1.0, ge=0, le=1024)
    engine_args: list[str] = Field(default_factory=list)  # extra command-line flags for vllm serve


class ComponentParams(Strict):
    """Parameters shared by every component; each component subclasses this as `Params`."""

    type: str


class ModelComponentParams(ComponentParams):
    model: str = Field(min_length=1, description="a model alias from `models`")
    temperature: Float = Field(0.0, ge=0, le=2)
    max_tokens: Int = Field(256, ge=1, le=MAX_TOKENS)


class PipelineFile(Strict):
    name: str = "pipeline"
    models: dict[str, ModelSpec] = Field(min_length=1)
    layers: list[list[dict[str, Any]]] = Field(min_length=1, max_length=MAX_LAYERS)


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
