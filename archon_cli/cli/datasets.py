"""`archon datasets`: list built-in datasets and scorers."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from archon_cli.cli.output import console, print_json
from archon_cli.tasks import DATASETS, SCORERS


def register(app: typer.Typer) -> None:
    app.command()(datasets)


def datasets(
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON document on stdout instead")] = False,
) -> None:
    """List the built-in datasets (size, scorer, licence) and scorers."""
    from rich.table import Table

    rows: list[dict[str, Any]] = [
        {"name": name, "size": cls().size(), "scorer": cls.default_scorer, "license": cls.license,
         "description": cls.description} for name, cls in DATASETS]
    if as_json:
        print_json({"datasets": rows, "scorers": SCORERS.names()})
        return
    # Readable at 80 columns: names, sizes and scorers never wrap or get cut; the licence and
    # the description wrap at word boundaries (a word is folded only when wider than its column).
    out = console()
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("dataset", "size", "scorer"):
        table.add_column(column, no_wrap=True)
    longest_word = max((len(w) for r in rows for w in r["license"].split()), default=1)
    table.add_column("licence", overflow="fold", min_width=longest_word,
                     max_width=None if out.width >= 120 else longest_word)
    table.add_column("description", overflow="fold")
    for r in rows:
        table.add_row(r["name"], "generated" if r["size"] is None else str(r["size"]), r["scorer"], r["license"],
                      r["description"])
    out.print(table)
    out.print("scorers: " + ", ".join(SCORERS.names()), soft_wrap=False)  # names: wrap between them
