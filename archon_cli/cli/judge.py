"""Options shared by commands that score: the judge model for the `judge` scorer, dataset fields."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Literal

import typer

from archon_cli.config.pipeline import ModelSpec
from archon_cli.errors import ConfigError
from archon_cli.llm.session import open_client
from archon_cli.tasks import SCORERS
from archon_cli.tasks.base import ScorerOptions

if TYPE_CHECKING:
    from archon_cli.llm.client import LLMClient
    from archon_cli.tasks import SCORERS

JUDGE_ALIAS = "__judge__"  # cannot clash with a pipeline's aliases in practice

FIELD_HELP = "dataset file column mapping FIELD=COLUMN (repeatable), e.g. --field input=question"
JUDGE_HELP = "model for the judge scorer, e.g. local/smollm2-135m or openai/gpt-4o-mini"

JudgeMode = Literal["single", "pairwise"]


def scorer_choice(value: str | None) -> str | None:
    """`--scorer`: a registered scorer (plugins included), checked while the command line is
    parsed, so a typo is a usage error (exit 2) before any engine starts."""
    if value is None or value in SCORERS:
        return value
    close = difflib.get_close_matches(value, SCORERS.names(), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise typer.BadParameter(f"{value[:100]!r} is not a scorer{hint} (scorers: {', '.join(SCORERS.names())})")


def scorer_metavar() -> str:
    return "<" + "|".join(SCORERS.names()) + ">"


def complete_scorer(incomplete: str) -> list[str]:
    return [name for name in SCORERS.names() if name.startswith(incomplete)]


def scorer_option(what: str = "override the dataset's scorer") -> typer.models.OptionInfo:
    return typer.Option("--scorer", "-s", help=what, parser=scorer_choice, metavar=scorer_metavar(),
                        autocompletion=complete_scorer)


@contextmanager
def scorer_options(judge_model: str | None, judge_mode: str, workers: int,
                   client: LLMClient | None = None) -> Iterator[ScorerOptions]:
    """ScorerOptions with a judge client: the command's client when it already serves the judge
    alias, else a new one (engines stop when the block ends)."""
    if judge_mode not in ("single", "pairwise"):
        raise ConfigError(f"--judge-mode {judge_mode!r}: expected single or pairwise")
    opts = ScorerOptions(judge_alias=JUDGE_ALIAS, judge_mode=judge_mode, workers=workers)  # type: ignore[arg-type]
    if judge_model is None:
        yield opts
        return
    opts.judge_model = ModelSpec.model_validate({"model": judge_model})
    if client is not None and JUDGE_ALIAS in client.models:
        opts.judge_client = client
        yield opts
        return

    with open_client({JUDGE_ALIAS: opts.judge_model}) as judge_client:
        opts.judge_client = judge_client
        yield opts
