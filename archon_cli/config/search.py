"""Search config schema: task + split, models, space, budget, search settings, execution.

`load_search_config(path)` validates the file (errors name the file and YAML path), resolves a
space given as a file (relative to the config, then to `search_spaces/`) and returns a
`SearchConfig` whose `space` is inline, so the resolved config written to a run dir is
self-contained.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, StrictStr, Tag, model_validator

from archon_cli.config.bounds import MAX_EXAMPLES, MAX_SEED, MAX_TRIALS, MAX_WORKERS, Bool, Float, Int
from archon_cli.config.loader import TAG_PREFIX, read_yaml, validate
from archon_cli.config.pipeline import ModelSpec
from archon_cli.config.space import SpaceSpec, load_space
from archon_cli.errors import ConfigError


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TaskConfig(Strict):
    dataset: str
    scorer: str | None = None  # None: the dataset's default scorer
    size: Int | None = Field(None, ge=2, le=MAX_EXAMPLES)  # examples loaded in total; None: the dataset's default size
    seed: Int = Field(0, ge=0, le=MAX_SEED)  # dataset seed (generated datasets)
    split_seed: Int = Field(0, ge=0, le=MAX_SEED)  # seeded random search/test split, never "the first N%"
    # Archon searches on 20% of each dataset and holds out the rest.
    search_fraction: Float = Field(0.2, gt=0, lt=1)
    search_size: Int | None = Field(None, ge=1, le=MAX_EXAMPLES)  # explicit sizes override the fraction
    test_size: Int | None = Field(None, ge=1, le=MAX_EXAMPLES)


class Budget(Strict):
    """Every limit is optional; None = unlimited."""

    calls_per_query: Int | None = Field(None, ge=1, le=100_000)  # checked from the spec before any call
    total_tokens: Int | None = Field(None, ge=1, le=10**12)  # engine tokens (prompt + completion) actually spent
    usd: Float | None = Field(None, gt=0, le=10**6)
    wall_s: Float | None = Field(None, gt=0, le=30 * 86_400)  # wall clock of this invocation


class Fidelity(Strict):
    """Successive halving: every trial is scored on the first `rungs[0]` search examples; it goes
    on to the next rung only if it is in the top 1/eta of the trials scored at that rung so far;
    after the last rung comes the whole search split. `rungs: []` = full fidelity always."""

    rungs: list[Int] = Field(default_factory=list, max_length=20)
    eta: Int = Field(3, ge=2, le=100)  # Optuna's and Hyperband's usual reduction factor

    @model_validator(mode="after")
    def _increasing(self) -> Fidelity:
        if any(b <= a for a, b in zip(self.rungs, self.rungs[1:], strict=False)) or any(r < 1 for r in self.rungs):
            raise ValueError("rungs must be positive and increasing")
        return self


Objective = Literal["accuracy", "calls", "tokens", "usd"]


def _accuracy_only() -> list[Objective]:
    return ["accuracy"]


class VerdictSettings(Strict):
    """After the search, the winner and its baselines on held-out examples (`search/verdict.py`)."""

    enabled: bool = True
    examples: int | None = Field(None, ge=1)  # the first N held-out examples; None = all of them


class SearchSettings(Strict):
    trials: Int = Field(20, ge=1, le=MAX_TRIALS)
    # TPE: robust default for conditional spaces; greedy: Archon's one-axis-at-a-time search
    sampler: Literal["tpe", "random", "grid", "nsga2", "gp", "greedy"] = "tpe"
    # ["accuracy"] = single objective (budget as constraints); ["accuracy", COST] = Pareto front.
    objectives: list[Objective] = Field(default_factory=_accuracy_only, min_length=1, max_length=2)
    seed: Int = Field(0, ge=0, le=MAX_SEED)  # sampler seed
    seed_architectures: Bool = True  # enqueue single / best-of-n / MoA / Archon first when expressible
    fidelity: Fidelity = Fidelity()
    verdict: VerdictSettings = VerdictSettings()
    # Write each trial's pipeline trace (every layer's candidates, critiques, rankings, scores and
    # calls, per example) to trials/NNNN/trace.jsonl. Large: for looking inside a few trials.
    trace: Bool = False

    @model_validator(mode="after")
    def _objectives(self) -> SearchSettings:
        if self.objectives[0] != "accuracy" or "accuracy" in self.objectives[1:]:
            raise ValueError("objectives: accuracy first, optionally one cost (calls, tokens, usd)")
        return self


class Execution(Strict):
    # shared: the user's LLM cache (search, replay, export→run all hit it); run: a cache file in the
    # run dir (isolated accounting); off: no cache.
    cache: Literal["shared", "run", "off"] = "shared"
    workers: Int = Field(1, ge=1, le=MAX_WORKERS)  # trials in flight (in one process with the local executor)
    # local: trials as asyncio tasks in this process, one engine per model; ray: trials as Ray
    # tasks, engines as supervised Ray actors. None: ray when an address or replicas ask for it.
    executor: Literal["local", "ray"] | None = None
    ray_address: str | None = None  # join this cluster; None = start a local Ray when needed


def _space_kind(value: Any) -> str | None:
    if isinstance(value, dict | SpaceSpec):
        return TAG_PREFIX + "inline"
    return TAG_PREFIX + "file" if isinstance(value, str) else None


class SearchConfig(Strict):
    name: StrictStr = "search"
    task: TaskConfig
    # Ranked, best first; replaces the space's models when given.
    models: dict[str, ModelSpec] | None = None
    space: Annotated[Annotated[SpaceSpec, Tag(TAG_PREFIX + "inline")] | Annotated[StrictStr, Tag(TAG_PREFIX + "file")],
                     Discriminator(_space_kind, custom_error_type="invalid_value",
                                   custom_error_message="a space (a mapping with layers) or a space file name")]
    budget: Budget = Budget()
    search: SearchSettings = SearchSettings()
    execution: Execution = Execution()
    runs_dir: str = "runs"

    def resolved_space(self) -> SpaceSpec:
        assert isinstance(self.space, SpaceSpec), "load_search_config resolves the space"
        return self.space

    def resolved_models(self) -> dict[str, ModelSpec]:
        return self.models or self.resolved_space().models

    def replicated(self) -> bool:
        return any(m.replicas > 1 for m in self.resolved_models().values())

    def needs_ray_but_local(self) -> bool:
        """executor: local with what only Ray can run (an address, engine replicas)."""
        return self.execution.executor == "local" and (self.execution.ray_address is not None or self.replicated())

    @property
    def on_ray(self) -> bool:
        if self.execution.executor is not None:
            return self.execution.executor == "ray"
        return self.execution.ray_address is not None or self.replicated()


def is_search_config(data: Any) -> bool:
    """A pipeline has neither key, so either one marks a search config (missing the other is its error)."""
    return isinstance(data, dict) and ("task" in data or "space" in data)


def is_space(data: Any) -> bool:
    return isinstance(data, dict) and "layers" in data and any(
        isinstance(b, dict) and ({"component", "choice", "blocks"} & set(b)) for b in data.get("layers") or [])


def parse_search_config(data: Any, source: Path) -> SearchConfig:
    cfg = validate(SearchConfig, data, source)
    if isinstance(cfg.space, str):
        space_path = _find_space(cfg.space, source)
        cfg = cfg.model_copy(update={"space": load_space(space_path)})
    if not cfg.resolved_models():
        raise ConfigError(f"{source}: invalid SearchConfig", ["models: no models (set models here or in the space)"])
    if cfg.needs_ray_but_local():
        raise ConfigError(f"{source}: invalid SearchConfig", [
            "execution.executor: 'local' runs one engine per model in this process; ray_address and "
            "models with replicas > 1 need executor: ray"])
    return cfg


def load_search_config(path: Path) -> SearchConfig:
    return parse_search_config(read_yaml(path), path)


def _find_space(ref: str, source: Path) -> Path:
    candidates = [source.parent / ref, Path(ref), Path("search_spaces") / ref,
                  Path(__file__).resolve().parents[2] / "search_spaces" / ref]
    for cand in candidates:
        try:
            if cand.is_file() and cand.resolve() != source.resolve():
                return cand
        except OSError:  # a name too long, a symlink loop: not this candidate
            continue
    raise ConfigError(f"{source}: space: file {ref[:200]!r} not found (looked next to the config and in "
                      "search_spaces/)")


def config_to_data(cfg: SearchConfig) -> dict[str, Any]:
    """The resolved config as plain data (defaults filled in), for config.yaml in a run dir."""
    return cfg.model_dump(mode="json", by_alias=True)
