"""The `archon` entry point: builds the typer app and renders every error once, here.

Exit codes: 0 success, 2 bad input, 1 runtime failure, 130 interrupted.
"""

from __future__ import annotations

import sys
import warnings

import click
import typer

from archon_cli.errors import ArchonError

app = typer.Typer(
    name="archon",
    help="Search for the best compound LLM system (ensembles, sampling, ranking, fusion, critique, "
    "verification, unit tests, voting) for a task.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register_commands() -> None:
    from archon_cli.cli import datasets, eval, export, replay, run, scale, score, search, show, validate

    for module in (search, replay, export, run, eval, score, validate, show, datasets, scale):
        module.register(app)


def main(argv: list[str] | None = None) -> int:
    _register_commands()
    # A Ctrl-C cancels in-flight HTTP calls; the coroutines left behind are expected, not news.
    warnings.filterwarnings("ignore", message="coroutine .* was never awaited", category=RuntimeWarning)
    try:
        code = app(args=argv, standalone_mode=False)
    except ArchonError as exc:
        _error(str(exc))
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except (KeyboardInterrupt, click.Abort):
        code = 130
    if code == 130:  # typer turns KeyboardInterrupt into Exit(130) and returns it
        _error("interrupted")
    return code if isinstance(code, int) else 0


def _error(message: str) -> None:
    from rich.console import Console

    Console(stderr=True, highlight=False).print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True)


def entry() -> None:
    sys.exit(main())
