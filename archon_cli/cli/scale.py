"""`archon scale PIPELINE --dataset D --samples 1,2,4,8,16`: coverage and majority-vote accuracy
of the pipeline's first layer against the number of samples, with a log-linear fit of coverage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from archon_cli.cli.judge import FIELD_HELP, JUDGE_HELP, scorer_option, scorer_options
from archon_cli.cli.output import console, styled, usage_line
from archon_cli.components.validate import load_pipeline
from archon_cli.coverage import first_layer_spec, log_linear_fit, plot_scale, scale_curve, score_candidates
from archon_cli.errors import ConfigError
from archon_cli.fsutil import atomic_write_text
from archon_cli.llm.session import open_client
from archon_cli.llm.usage import Usage
from archon_cli.pipeline import Pipeline
from archon_cli.tasks import SCORERS
from archon_cli.tasks.files import parse_field_mapping
from archon_cli.tasks.loading import load_examples


def register(app: typer.Typer) -> None:
    app.command(name="scale")(scale_command)


def scale_command(
    pipeline: Annotated[Path, typer.Argument(help="a pipeline YAML; its first layer (generators) is sampled")],
    dataset: Annotated[str, typer.Option(
        "--dataset", "-d", help="a built-in dataset (see `archon datasets`) or a .jsonl/.csv file")],
    samples: Annotated[str, typer.Option("--samples", help="sample counts, comma-separated")] = "1,2,4,8,16",
    scorer: Annotated[str | None, scorer_option()] = None,
    field: Annotated[list[str] | None, typer.Option("--field", help=FIELD_HELP)] = None,
    judge_model: Annotated[str | None, typer.Option("--judge-model", help=JUDGE_HELP)] = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, help="use the first N examples")] = None,
    seed: Annotated[int, typer.Option("--seed", help="dataset seed (generated datasets)")] = 0,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="call the engines even for cached requests")] = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write scale.png and scale.json here")] = None,
) -> None:
    """Coverage (any sample correct) and majority-vote accuracy vs samples per question. The largest
    count is sampled once (n samples cost n calls); smaller counts take the first n of them."""
    try:
        counts = sorted({int(s) for s in samples.split(",") if s.strip()})
    except ValueError:
        raise ConfigError(f"--samples {samples!r}: expected comma-separated integers, e.g. 1,2,4,8") from None
    if not counts or counts[0] < 1:
        raise ConfigError(f"--samples {samples!r}: sample counts must be ≥ 1")
    spec = load_pipeline(pipeline)
    sampled = first_layer_spec(spec, counts[-1])
    examples, default_scorer = load_examples(dataset, limit=limit, seed=seed, fields=parse_field_mapping(field or []))
    with open_client(sampled.models, use_cache=not no_cache) as client, \
            scorer_options(judge_model, "single", workers=4) as options:
        results = Pipeline(sampled).run([ex.to_input() for ex in examples], client)
        candidates = [r.first_layer for r in results]
        scores = score_candidates(examples, candidates, SCORERS.get(scorer or default_scorer)(options))
    points = scale_curve(candidates, scores, counts, groups=len(sampled.layers[0]))
    fit = log_linear_fit(points)
    usage = Usage()
    for r in results:
        usage.merge(r.usage)
    out = console()
    out.print(styled((spec.name, "bold"), f" first layer on {dataset} ({len(examples)} examples)"))
    for p in points:
        out.print(f"  samples {p.samples:>4}: coverage {p.coverage:.3f}  majority vote {p.majority_vote:.3f}")
    out.print(f"coverage ≈ {fit[0]:.3f} + {fit[1]:.3f}·ln(samples)")
    out.print(usage_line(usage))
    if output is not None:
        record = {"pipeline": spec.name, "dataset": dataset, "examples": len(examples),
                  "generators": len(sampled.layers[0]),
                  "points": [{"samples": p.samples, "coverage": p.coverage, "majority_vote": p.majority_vote}
                             for p in points],
                  "fit": {"form": "coverage = intercept + slope * ln(samples)", "intercept": fit[0], "slope": fit[1]},
                  "failed": sum(1 for r in results if r.error is not None),
                  "usage": usage.to_dict()}
        atomic_write_text(output / "scale.json", json.dumps(record, indent=2, ensure_ascii=False) + "\n")
        plot_scale(points, fit, output / "scale.png", f"{spec.name} on {dataset}")
        out.print(f"wrote {output / 'scale.png'} and {output / 'scale.json'}")
