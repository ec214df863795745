"""Replay and export: a trial's stored pipeline, evaluated again or written out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from archon_cli.components.validate import load_pipeline
from archon_cli.config.pipeline import PipelineSpec
from archon_cli.errors import ConfigError, RunStateError
from archon_cli.evaluate import Evaluation, evaluate
from archon_cli.llm.session import default_cache_path, open_client
from archon_cli.pipeline import Pipeline
from archon_cli.runs import RunDir
from archon_cli.search.results import cost_column, pick, trial_rows
from archon_cli.search.split import split
from archon_cli.search.study import open_study
from archon_cli.tasks.loading import load_task


@dataclass
class ReplayResult:
    trial: int
    spec: PipelineSpec
    evaluation: Evaluation


def chosen_spec(run_dir: Path, trial: int | None, how: str = "best") -> tuple[int, PipelineSpec]:
    """The trial's stored `trials/NNNN/pipeline.yaml`: the record of what it evaluated."""
    run = RunDir.open(run_dir)
    cfg = run.load_config()
    study = open_study(run, cfg)
    if trial is None:
        trial = int(pick(trial_rows(study, cfg), how, cost_column(cfg))["number"])
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    if trial not in trials:
        raise ConfigError(f"--trial: no trial {trial} in {run_dir} (0–{len(trials) - 1})")
    source = trials[trial].user_attrs.get("duplicate_of", trial)
    path = run.trial_dir(source) / "pipeline.yaml"
    if not path.is_file():
        reason = trials[trial].user_attrs.get("reason") or trials[trial].state.name.lower()
        raise RunStateError(f"trial {trial} has no pipeline ({reason})")
    return trial, load_pipeline(path)


def replay_trial(run_dir: Path, trial: int | None, split_name: str, limit: int | None) -> ReplayResult:
    number, spec = chosen_spec(run_dir, trial)
    run = RunDir.open(run_dir)
    cfg = run.load_config()
    examples, scorer = load_task(cfg.task.dataset, cfg.task.scorer, limit=cfg.task.size, seed=cfg.task.seed)
    search_examples, test_examples = split(examples, cfg.task)
    chosen = test_examples if split_name == "test" else search_examples
    chosen = chosen[:limit] if limit is not None else chosen
    if not chosen:
        raise RunStateError(f"the {split_name} split of {run_dir} is empty")
    cache_path = run.cache_db if cfg.execution.cache == "run" else default_cache_path()
    with open_client(spec.models, use_cache=cfg.execution.cache != "off", cache_path=cache_path) as client:
        evaluation = evaluate(Pipeline(spec), chosen, scorer, client)
    run.log(f"replay trial {number} on {split_name} ({len(chosen)} examples): {evaluation.estimate}")
    return ReplayResult(number, spec, evaluation)
