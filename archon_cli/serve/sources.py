"""What `archon serve` serves: pipeline files, or the chosen trial of a search run directory.

A run directory's trial is read from its stored `trials/NNNN/pipeline.yaml` (what the search
evaluated), chosen by `--trial N` or by `--pick best|cheapest|knee` over the study's rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from archon_cli.components.validate import load_pipeline
from archon_cli.config.pipeline import ModelComponentParams, ModelSpec, PipelineSpec
from archon_cli.errors import ConfigError, RunStateError
from archon_cli.runs import RunDir
from archon_cli.search.results import cost_column, pick, trial_rows
from archon_cli.search.study import open_study


@dataclass(frozen=True)
class Served:
    """One served pipeline: clients ask for it by `name` (the `model` field)."""

    name: str
    spec: PipelineSpec
    source: str


def load_sources(paths: list[Path], pick_how: str = "best", trial: int | None = None) -> list[Served]:
    if not paths:
        raise ConfigError("give at least one pipeline YAML or run directory")
    served = []
    for path in paths:
        if path.is_dir():
            number, spec = run_dir_trial(path, pick_how, trial)
            served.append(Served(spec.name, spec, f"{path} trial {number}"))
        elif path.is_file():
            spec = load_pipeline(path)
            served.append(Served(spec.name, spec, str(path)))
        else:
            raise ConfigError(f"{path}: no such pipeline file or run directory")
    names = [s.name for s in served]
    if dupes := sorted({n for n in names if names.count(n) > 1}):
        raise ConfigError(f"two served pipelines share the name {', '.join(dupes)}: give each a distinct `name`")
    return served


def run_dir_trial(path: Path, pick_how: str, trial: int | None) -> tuple[int, PipelineSpec]:
    run = RunDir.open(path)
    if trial is None:
        cfg = run.load_config()
        trial = int(pick(trial_rows(open_study(run, cfg), cfg), pick_how, cost_column(cfg))["number"])
    stored = run.trial_dir(trial) / "pipeline.yaml"
    if not stored.is_file():
        raise RunStateError(f"{path}: trial {trial} has no stored pipeline ({stored})")
    return trial, load_pipeline(stored)


def shared_models(served: list[Served]) -> tuple[dict[str, ModelSpec], list[Served]]:
    """One model table for the one LLM client all pipelines share. An alias two pipelines use for
    different models is renamed `<pipeline>.<alias>` in the second one (its components follow)."""
    models: dict[str, ModelSpec] = {}
    out = []
    for s in served:
        renames = {a: f"{s.name}.{a}" for a, m in s.spec.models.items() if a in models and models[a] != m}
        for alias, model in s.spec.models.items():
            models[renames.get(alias, alias)] = model
        out.append(Served(s.name, _renamed(s.spec, renames), s.source) if renames else s)
    return models, out


def _renamed(spec: PipelineSpec, renames: dict[str, str]) -> PipelineSpec:
    layers = [[c.model_copy(update={"model": renames.get(c.model, c.model)}) if isinstance(c, ModelComponentParams)
               else c for c in layer] for layer in spec.layers]
    models = {renames.get(a, a): m for a, m in spec.models.items()}
    return spec.model_copy(update={"layers": layers, "models": models})
