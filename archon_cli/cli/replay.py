"""`archon replay RUN_DIR`: re-evaluate the best (or a chosen) trial on held-out examples."""

from __future__ import annotations

from pathlib import Path

import typer

from archon_cli.cli.output import console, usage_line
from archon_cli.errors import ConfigError
from archon_cli.search.replay import replay_trial


def register(app: typer.Typer) -> None:
    app.command()(replay)


def replay(
    run_dir: Path = typer.Argument(..., help="a run directory"),
    trial: int | None = typer.Option(None, "--trial", help="trial number (default: the best)"),
    split: str = typer.Option("test", "--split", help="test (held out, never seen in search) or search"),
    limit: int | None = typer.Option(None, "--limit", "-n", min=1, help="first N examples of the split"),
    baselines: bool = typer.Option(True, "--baselines/--no-baselines",
                                   help="compare with the single call and the compute-matched vote (paired)"),
) -> None:
    """Score a trial's stored pipeline on held-out examples, with a 95% CI and its baselines."""
    if split not in ("test", "search"):
        raise ConfigError(f"--split: {split!r} is not test or search")
    result = replay_trial(Path(run_dir), trial, split, limit, with_baselines=baselines)
    out = console()
    est = result.evaluation.estimate
    failed = result.evaluation.failed
    beside = f" · {failed} failed of {len(result.evaluation.results)} not counted" if failed else ""
    out.print(f"trial {result.trial} ({result.spec.name}) on the {split} split: accuracy {est}{beside}", markup=False)
    if failed:
        first = next(r.error for r in result.evaluation.results if r.error is not None)
        console(stderr=True).print(f"{failed} examples failed (not in the accuracy); first: {first}",
                                   soft_wrap=True, markup=False, style="yellow")
    pq = result.evaluation.per_query()
    out.print(f"per query: {pq['calls']:.1f} calls, {pq['prompt_tokens']:.0f} tokens in / "
              f"{pq['completion_tokens']:.0f} out")
    out.print(usage_line(result.evaluation.usage, result.evaluation.wall_s))
    if result.verdict is not None:
        for line in result.verdict.lines()[1:]:
            out.print(line.strip(), soft_wrap=True, markup=False)
        out.print("baselines: " + usage_line(result.verdict.usage), soft_wrap=True)
