"""`archon eval PIPELINE --dataset NAME`: score one fixed pipeline, no search."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from archon_cli.cli.judge import FIELD_HELP, JUDGE_ALIAS, JUDGE_HELP, JudgeMode, scorer_option, scorer_options
from archon_cli.cli.output import console, evaluation_dict, print_json, progress, styled, usage_line
from archon_cli.cli.trace_view import TRACE_FILE_HELP, TRACE_HELP, render_trace, write_trace
from archon_cli.components.validate import load_pipeline
from archon_cli.config.pipeline import ModelSpec
from archon_cli.evaluate import Evaluation, evaluate
from archon_cli.fsutil import atomic_write_text
from archon_cli.llm.session import open_client
from archon_cli.pipeline import Pipeline
from archon_cli.tasks import SCORERS
from archon_cli.tasks.files import parse_field_mapping
from archon_cli.tasks.loading import load_examples
from archon_cli.trace import TraceRecorder


def register(app: typer.Typer) -> None:
    app.command(name="eval")(eval_command)


def eval_command(
    pipeline: Annotated[Path, typer.Argument(help="a pipeline YAML")],
    dataset: Annotated[str, typer.Option(
        "--dataset", "-d", help="a built-in dataset (see `archon datasets`) or a .jsonl/.csv file")],
    scorer: Annotated[str | None, scorer_option()] = None,
    field: Annotated[list[str] | None, typer.Option("--field", help=FIELD_HELP)] = None,
    judge_model: Annotated[str | None, typer.Option("--judge-model", help=JUDGE_HELP)] = None,
    judge_mode: Annotated[JudgeMode, typer.Option("--judge-mode", help="judge scorer: single or pairwise")] = "single",
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, help="evaluate the first N examples")] = None,
    seed: Annotated[int, typer.Option("--seed", help="dataset seed (generated datasets, sampling)")] = 0,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="call the engines even for cached requests")] = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write predictions JSONL here")] = None,
    coverage: Annotated[bool, typer.Option(
        "--coverage/--no-coverage",
        help="also score every first-layer candidate: coverage = the share of examples a perfect selector "
             "would get right (judge scorers: one judge call per candidate)")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON document on stdout instead")] = False,
    trace: Annotated[bool, typer.Option("--trace", help=TRACE_HELP)] = False,
    trace_file: Annotated[Path | None, typer.Option("--trace-file", help=TRACE_FILE_HELP)] = None,
) -> None:
    """Evaluate a pipeline on a dataset: accuracy with a 95% CI, coverage of the first layer's
    candidates, and cost per query."""
    spec = load_pipeline(pipeline)
    examples, default_scorer = load_examples(dataset, limit=limit, seed=seed, fields=parse_field_mapping(field or []))
    pipe = Pipeline(spec)
    err = console(stderr=True)
    # The judge shares the pipeline's engines and cache (one embedded server per model file).
    models = spec.models | ({JUDGE_ALIAS: ModelSpec.model_validate({"model": judge_model})} if judge_model else {})
    with open_client(models, use_cache=not no_cache) as client, \
            scorer_options(judge_model, judge_mode, workers=4, client=client) as options, \
            progress(err, len(examples)) as advance:
        score_fn = SCORERS.get(scorer or default_scorer)(options)
        recorder = TraceRecorder() if trace or trace_file is not None else None
        evaluation = evaluate(pipe, examples, score_fn, client, on_done=lambda _r: advance(), coverage=coverage,
                              tracer=recorder)
    records = recorder.records([ex.id for ex in examples]) if recorder is not None else []
    if trace:
        typer.echo(render_trace(records), err=True, nl=False)
    if output is not None and evaluation.results and evaluation.failed == len(evaluation.results):
        _write_predictions(output, examples, evaluation)  # the errors, one per example, to look at
    evaluation.require_answers()  # every example failed: exit 1 with the cause, no accuracy printed
    if evaluation.failed:
        err.print(f"{evaluation.failed} of {len(evaluation.results)} examples failed (not in the accuracy); "
                  f"first: {next(r.error for r in evaluation.results if r.error is not None)}",
                  style="yellow")
    if as_json:
        print_json({"pipeline": spec.name, "dataset": dataset} | evaluation_dict(evaluation))
        if output is not None:
            _write_predictions(output, examples, evaluation)
        if trace_file is not None:
            write_trace(trace_file, records)
        return
    out = console()
    est = evaluation.estimate
    pq = evaluation.per_query()
    out.print(styled((spec.name, "bold"), f" on {dataset}: accuracy {est}{_beside(evaluation)}"))
    if (cov := evaluation.coverage) is not None:
        out.print(f"coverage of the first layer's candidates {cov}")
    out.print(f"per query: {pq['calls']:.1f} calls, {pq['prompt_tokens']:.0f} tokens in / "
              f"{pq['completion_tokens']:.0f} out, ${pq['usd']:.5f}")
    out.print(usage_line(evaluation.usage, evaluation.wall_s))
    if output is not None:  # after the result is shown: a full disk must not lose a finished evaluation
        _write_predictions(output, examples, evaluation)
    if trace_file is not None:
        write_trace(trace_file, records)


def _beside(evaluation: Evaluation) -> str:
    """What the accuracy leaves out, said beside it: failed and unscored examples."""
    left_out = [f"{n} {what}" for n, what in ((evaluation.failed, "failed"),
                                             (len(evaluation.score_errors), "unscored")) if n]
    return f" · {', '.join(left_out)} of {len(evaluation.results)} not counted" if left_out else ""


def _write_predictions(path: Path, examples, evaluation) -> None:  # type: ignore[no-untyped-def]

    lines = [
        json.dumps({"id": ex.id, "output": res.output, "score": score, "error": res.error,
                    "usage": res.usage.to_dict()}, ensure_ascii=False)
        for ex, res, score in zip(examples, evaluation.results, evaluation.scores, strict=True)
    ]
    atomic_write_text(path, "\n".join(lines) + "\n")
