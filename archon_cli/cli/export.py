"""`archon export RUN_DIR`: the chosen architecture as a standalone pipeline YAML."""

from __future__ import annotations

from pathlib import Path

import typer

from archon_cli.cli.output import console
from archon_cli.fsutil import atomic_write_text
from archon_cli.search.replay import chosen_spec
from archon_cli.search.results import PICK_HELP, Pick


def register(app: typer.Typer) -> None:
    app.command()(export)


def export(
    run_dir: Path = typer.Argument(..., help="a run directory"),
    trial: int | None = typer.Option(None, "--trial", help="trial number (overrides --pick)"),
    pick: Pick = typer.Option("best", "--pick", help=PICK_HELP),
    output: Path | None = typer.Option(None, "--output", "-o", help="write here (default: stdout)"),
) -> None:
    """Write a trial's stored pipeline as YAML that `archon run` executes."""
    number, spec = chosen_spec(Path(run_dir), trial, pick)
    text = f"# exported from {run_dir}, trial {number}\n" + spec.to_yaml()
    if output is None:
        print(text, end="")
    else:
        atomic_write_text(output, text)
        console(stderr=True).print(f"trial {number} → {output}")
