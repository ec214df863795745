"""Replay and export: a trial's stored pipeline, evaluated again or written out."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from archon_cli.components.validate import load_pipeline
from archon_cli.config.pipeline import PipelineSpec
from archon_cli.errors import ConfigError, RunStateError
from archon_cli.evaluate import Evaluation, aevaluate
from archon_cli.llm.session import default_cache_path, open_client
from archon_cli.pipeline import Pipeline
from archon_cli.runs import RunDir
from archon_cli.search.results import cost_column, pick, trial_rows
from archon_cli.search.split import split
from archon_cli.search.study import open_study
from archon_cli.search.verdict import StartPhase, Verdict, compare
from archon_cli.tasks.loading import load_task


@dataclass
class ReplayResult:
    trial: int
    spec: PipelineSpec
    evaluation: Evaluation
    verdict: Verdict | None = None


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


def replay_trial(run_dir: Path, trial: int | None, split_name: str, limit: int | None, *,
                 with_baselines: bool = False, pick: str = "best", start: StartPhase | None = None) -> ReplayResult:
    """Evaluate a trial's pipeline (`trial`, else the `pick`) on a split and, asked, its baselines
    on the same examples. `start` reports progress: the trial, then each baseline evaluated."""
    number, spec = chosen_spec(run_dir, trial, pick)
    run = RunDir.open(run_dir)
    cfg = run.load_config()
    examples, scorer = load_task(cfg.task.dataset, cfg.task.scorer, limit=cfg.task.size, seed=cfg.task.seed)
    search_examples, test_examples = split(examples, cfg.task)
    chosen = test_examples if split_name == "test" else search_examples
    chosen = chosen[:limit] if limit is not None else chosen
    if not chosen:
        raise RunStateError(f"the {split_name} split of {run_dir} is empty")
    cache_path = run.cache_db if cfg.execution.cache == "run" else default_cache_path()
    models = cfg.resolved_models() | spec.models
    with open_client(models, use_cache=cfg.execution.cache != "off", cache_path=cache_path) as client:
        async def evaluate_all() -> tuple[Evaluation, Verdict | None]:
            on_done = start(f"trial {number}", len(chosen)) if start is not None else None
            mine = await aevaluate(Pipeline(spec), chosen, scorer, client, on_done)
            if not with_baselines:
                return mine, None
            return mine, await compare(number, spec, mine, cfg.resolved_models(), chosen, scorer, client, split_name,
                                       start)

        evaluation, verdict = asyncio.run(evaluate_all())
    evaluation.require_answers()  # nothing to report or record when every example failed (exit 1)
    run.log(f"replay trial {number} on {split_name} ({len(chosen)} examples): {evaluation.estimate}")
    run.write_json(run.trial_dir(number) / f"replay-{split_name}.json",
                   {"split": split_name, "examples": len(chosen), "failed": evaluation.failed,
                    "estimate": evaluation.estimate.to_dict()}
                   | ({"verdict": verdict.to_dict()} if verdict is not None else {}))
    return ReplayResult(number, spec, evaluation, verdict)
