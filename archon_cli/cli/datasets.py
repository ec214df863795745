"""`archon datasets`: list built-in datasets and scorers."""

from __future__ import annotations

import typer

from archon_cli.cli.output import console
from archon_cli.tasks import DATASETS, SCORERS


def register(app: typer.Typer) -> None:
    app.command()(datasets)


def datasets() -> None:
    """List the built-in datasets (size, scorer, licence) and scorers."""
    from rich.table import Table

    table = Table("dataset", "size", "scorer", "licence", "description")
    for name, cls in DATASETS:
        size = cls().size()
        table.add_row(name, "generated" if size is None else str(size), cls.default_scorer, cls.license,
                      cls.description)
    out = console()
    out.print(table)
    out.print("scorers: " + ", ".join(SCORERS.names()))
