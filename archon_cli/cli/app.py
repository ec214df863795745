"""The `archon` entry point: builds the typer app and renders every error once, here.

Exit codes: 0 success, 2 bad input, 1 runtime failure, 130 interrupted.
"""

from __future__ import annotations

import sys
import warnings
from importlib.metadata import version

import typer
from typer.exceptions import TyperException

from archon_cli.cli import datasets, eval, export, replay, run, score, search, show, validate
from archon_cli.errors import ArchonError

app = typer.Typer(
    name="archon",
    help="Search for the best compound LLM system (ensembles, sampling, ranking, fusion, critique, "
    "verification, unit tests, voting) for a task.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"archon-cli {version('archon-cli')}")
        raise typer.Exit(0)


@app.callback()
def _options(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                          help="print the version and exit")) -> None:
    """Search for the best compound LLM system (ensembles, sampling, ranking, fusion, critique,
    verification, unit tests, voting) for a task."""


for _module in (search, replay, export, run, eval, score, validate, show, datasets):
    _module.register(app)


def main(argv: list[str] | None = None) -> int:
    # A Ctrl-C cancels in-flight HTTP calls; the coroutines left behind are expected, not news.
    warnings.filterwarnings("ignore", message="coroutine .* was never awaited", category=RuntimeWarning)
    try:
        code = app(args=argv, standalone_mode=False)
    except ArchonError as exc:
        _error(str(exc))
        return exc.exit_code
    except typer.Exit as exc:  # typer turns KeyboardInterrupt into Exit(130)
        code = int(exc.exit_code)
    except TyperException as exc:  # typer's own (vendored) click errors: usage, bad values
        show = getattr(exc, "show", None)  # usage errors print the usage line and a hint
        if show is not None:
            show()
        else:
            _error(exc.format_message())
        return int(exc.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        code = 130
    if code == 130:
        _error("interrupted")
    return code if isinstance(code, int) else 0


def _error(message: str) -> None:
    from rich.console import Console
    from rich.markup import escape

    # escaped: `[lo, hi]` in a message is text, not markup
    Console(stderr=True, highlight=False).print(f"[bold red]error:[/] {escape(message)}", markup=True, soft_wrap=True)


def entry() -> None:
    sys.exit(main())
