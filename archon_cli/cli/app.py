"""The `archon` entry point: builds the typer app and renders every error once, here.

Exit codes: 0 success, 2 bad input, 1 runtime failure, 130 interrupted.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from importlib.metadata import version
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup
from typer.exceptions import TyperException

from archon_cli.cli.output import console, styled
from archon_cli.errors import ArchonError
from archon_cli.fsutil import storage_failure
from archon_cli.redact import redact

# Command → (module, one-line help). A command's module, and the part of the package behind it,
# is imported only when that command runs or shows its own help, so `archon --help` and a
# usage error cost no pydantic models, engines or search code (tests/unit/test_cli_usage.py
# checks these lines against the commands' own docstrings).
COMMANDS: dict[str, tuple[str, str]] = {
    "search": ("search", "Search for the best architecture under the config's budget; writes a run directory."),
    "replay": ("replay", "Score a trial's stored pipeline on held-out examples, with a 95% CI and its baselines."),
    "export": ("export", "Write a trial's stored pipeline as YAML that `archon run` executes."),
    "run": ("run", "Answer a prompt (or a JSONL file of prompts) with a pipeline."),
    "eval": ("eval", "Evaluate a pipeline on a dataset: accuracy with a 95% CI, coverage of the first layer's "
             "candidates, and cost per query."),
    "score": ("score", "Score a predictions file: accuracy with a 95% CI."),
    "validate": ("validate", "Check a file and print its calls-per-query estimate (zero model calls)."),
    "show": ("show", "Print a run's leaderboard, Pareto front and usage summary."),
    "runs": ("show", "List the runs in a directory: name, trials, best accuracy, stop reason."),
    "datasets": ("datasets", "List the built-in datasets (size, scorer, licence) and scorers."),
    "scale": ("scale", "Coverage (any sample correct) and majority-vote accuracy vs samples per question. The "
              "largest count is sampled once (n samples cost n calls); smaller counts take the first n of them."),
    "serve": ("serve", "Serve pipelines as an OpenAI-compatible API (POST /v1/chat/completions, /v1/models, "
              "/health, /metrics)."),
}


class LazyCommands(TyperGroup):
    """The command group, importing each command's module on first use. `commands` holds
    one-line stand-ins, which the group's own help lists and typo suggestions search."""

    _listing = False  # while the group's own help is drawn

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = {name: TyperCommand(name, help=short) for name, (_, short) in COMMANDS.items()}

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in COMMANDS or self._listing:
            return self.commands.get(cmd_name)
        commands = typer.Typer()
        importlib.import_module(f"archon_cli.cli.{COMMANDS[cmd_name][0]}").register(commands)
        return typer.main.get_group(commands).commands[cmd_name]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="archon",
    cls=LazyCommands,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish, PowerShell
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
    except Exception as exc:  # the edge: a full disk or I/O error raised in a library (SQLAlchemy, Optuna)
        if (storage := storage_failure(exc)) is None:
            raise
        _error(str(storage))
        return storage.exit_code
    if code == 130:
        _error("interrupted")
    return code if isinstance(code, int) else 0


def _error(message: str) -> None:
    # text, not markup: `[lo, hi]` or `archon-cli[vllm]` in a message prints as written; redacted:
    # no key reaches a terminal
    console(stderr=True).print(styled(("error:", "bold red"), " ", redact(message)))


def entry() -> None:
    sys.exit(main())
