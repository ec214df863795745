"""`archon validate FILE`: check a pipeline YAML and estimate its calls per query. No model calls."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command()(validate)


def validate(file: Path = typer.Argument(..., help="a pipeline YAML")) -> None:
    """Check a pipeline file and print its calls-per-query estimate (zero model calls)."""
    from archon_cli.cli.output import console
    from archon_cli.config.pipeline import load_pipeline
    from archon_cli.pipeline import Pipeline

    spec = load_pipeline(file)
    est = Pipeline(spec).estimate_calls()
    bound = "" if est.exact else " (upper bound: a verifier decides how many candidates go on)"
    out = console()
    out.print(f"{file}: valid pipeline '{spec.name}', {len(spec.layers)} layers")
    out.print(f"calls per query: {est.calls}{bound}; per layer: {list(est.per_layer)}")
