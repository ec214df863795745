"""`archon replay RUN_DIR`: re-evaluate the best (or a chosen) trial on held-out examples."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from archon_cli.cli.output import console, evaluation_dict, phases, print_json, usage_line
from archon_cli.search.replay import replay_trial
from archon_cli.search.results import PICK_HELP, Pick

Split = Literal["test", "search"]


def register(app: typer.Typer) -> None:
    app.command()(replay)


def replay(
    run_dir: Annotated[Path, typer.Argument(help="a run directory")],
    trial: Annotated[int | None, typer.Option("--trial", help="trial number (overrides --pick)")] = None,
    pick: Annotated[Pick, typer.Option("--pick", help=PICK_HELP)] = "best",
    split: Annotated[Split, typer.Option("--split", help="test (held out, never seen in search) or search")] = "test",
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, help="first N examples of the split")] = None,
    baselines: Annotated[bool, typer.Option("--baselines/--no-baselines",
                                            help="compare with the single call and the compute-matched vote "
                                                 "(paired)")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON document on stdout instead")] = False,
) -> None:
    """Score a trial's stored pipeline on held-out examples, with a 95% CI and its baselines."""
    with phases(console(stderr=True)) as start:
        result = replay_trial(Path(run_dir), trial, split, limit, with_baselines=baselines, pick=pick, start=start)
    ev = result.evaluation
    if as_json:
        print_json({"run_dir": str(run_dir), "trial": result.trial, "pipeline": result.spec.name, "split": split}
                   | evaluation_dict(ev) | {"verdict": result.verdict.to_dict() if result.verdict else None})
        return
    out = console()
    failed = ev.failed
    beside = f" · {failed} failed of {len(ev.results)} not counted" if failed else ""
    out.print(f"trial {result.trial} ({result.spec.name}) on the {split} split: accuracy {ev.estimate}{beside}")
    if failed:
        first = next(r.error for r in ev.results if r.error is not None)
        console(stderr=True).print(f"{failed} examples failed (not in the accuracy); first: {first}", style="yellow")
    pq = ev.per_query()
    out.print(f"per query: {pq['calls']:.1f} calls, {pq['prompt_tokens']:.0f} tokens in / "
              f"{pq['completion_tokens']:.0f} out")
    if ev.failed or ev.score_errors:
        out.print(f"{ev.failed} examples failed, {len(ev.score_errors)} unscored", style="yellow")
    out.print(usage_line(ev.usage, ev.wall_s))
    if result.verdict is not None:
        for line in result.verdict.lines()[1:]:
            out.print(line.strip())
        out.print("baselines: " + usage_line(result.verdict.usage))
