"""`archon score DATASET --predictions FILE.jsonl`: score given outputs with the dataset's scorer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from archon_cli.cli.judge import FIELD_HELP, JUDGE_HELP, JudgeMode, scorer_option, scorer_options
from archon_cli.cli.output import console, print_json, styled
from archon_cli.errors import EvaluationFailed
from archon_cli.stats import mean_interval
from archon_cli.tasks import SCORERS
from archon_cli.tasks.base import ScoreError
from archon_cli.tasks.files import parse_field_mapping
from archon_cli.tasks.loading import load_examples
from archon_cli.tasks.predictions import read_predictions


def register(app: typer.Typer) -> None:
    app.command(name="score")(score_command)


def score_command(
    dataset: Annotated[str, typer.Argument(help="a built-in dataset or a .jsonl/.csv file")],
    predictions: Annotated[Path, typer.Option("--predictions", "-p", help="JSONL: one {id, output} per line")],
    scorer: Annotated[str | None, scorer_option()] = None,
    field: Annotated[list[str] | None, typer.Option("--field", help=FIELD_HELP)] = None,
    judge_model: Annotated[str | None, typer.Option("--judge-model", help=JUDGE_HELP)] = None,
    judge_mode: Annotated[JudgeMode, typer.Option("--judge-mode", help="judge scorer: single or pairwise")] = "single",
    workers: Annotated[int, typer.Option("--workers", min=1, help="concurrent sandbox runs / judge calls")] = 4,
    seed: Annotated[int, typer.Option("--seed", help="dataset seed (generated datasets)")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON document on stdout instead")] = False,
) -> None:
    """Score a predictions file: accuracy with a 95% CI."""
    examples, default = load_examples(dataset, seed=seed, fields=parse_field_mapping(field or []))
    preds = read_predictions(predictions, {ex.id for ex in examples})
    scored = [ex for ex in examples if ex.id in preds]
    values: list[float] = []
    unscored: dict[str, str] = {}
    failed = [ex.id for ex in scored if preds[ex.id] is None]  # output null: the pipeline failed there
    if scored and len(failed) == len(scored):
        raise EvaluationFailed(f"every one of the {len(scored)} predictions has no output (null: the pipeline "
                               "failed there), so there is no accuracy")
    with scorer_options(judge_model, judge_mode, workers) as options:
        score_fn = SCORERS.get(scorer or default)(options)
        answered = [(ex, text) for ex in scored if (text := preds[ex.id]) is not None]
        results = iter(score_fn.score_outputs(answered))
        for ex in scored:
            if preds[ex.id] is None:
                continue  # failed: counted beside the accuracy, not averaged in as a 0
            value = next(results)
            if isinstance(value, ScoreError):
                unscored[ex.id] = str(value)
            else:
                values.append(value)
    est = mean_interval(values)
    correct = sum(values)
    missing = len(examples) - len(scored)
    if as_json:
        print_json({"dataset": dataset, "scorer": score_fn.name, "accuracy": est.to_dict(), "correct": correct,
                    "scored": len(values), "examples": len(examples), "missing": missing,
                    "no_answer": sum(1 for ex in scored if preds[ex.id] is None), "unscored": len(unscored),
                    "score_errors": unscored})
        return
    out = console()
    beside = f" · {len(failed)} failed (output null) not counted" if failed else ""
    out.print(f"{dataset} ({score_fn.name}): accuracy {est} · {correct:g}/{len(values)}{beside}")
    if missing:
        out.print(f"{missing} dataset examples have no prediction (not scored)", style="yellow")
    if unscored:
        out.print(styled((f"{len(unscored)} outputs could not be scored", "yellow"),
                         f" (first: {next(iter(unscored.values()))})"))
