"""Terminal views (rich): the leaderboard, the Pareto front table and the live search progress."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archon_cli.search.results import complete_rows, pareto_front

if TYPE_CHECKING:
    from rich.console import RenderableType

    from archon_cli.search.status import Status


def leaderboard(rows: list[dict[str, Any]], limit: int = 10, cost: str = "calls_per_query") -> RenderableType:
    """Complete trials, best first: search-split accuracy with its 95% CI, how each compares
    with the best on the examples both saw (paired test), and the held-out score where known.
    Tokens, cache hits and the rest are in trials.csv."""
    from rich.table import Table
    from rich.text import Text

    table = Table("trial", "accuracy", "95% CI", "vs best", "held-out", "calls/q", "architecture",
                  title="Leaderboard (complete trials, search split)")
    table.columns[-1].overflow = "fold"  # the architecture is the point: wrap it, never cut it
    ranked = sorted(complete_rows(rows), key=lambda r: (-r["accuracy"], r[cost] or 0))
    for r in ranked[:limit]:
        ci = f"{r['accuracy_low']:.2f}–{r['accuracy_high']:.2f}" if r.get("accuracy_low") is not None else "—"
        vs = r.get("vs_best") or "—"
        if r.get("vs_best_p") is not None:
            vs += f" p={r['vs_best_p']:.2f}"
        held = f"{r['heldout']:.3f}" if r.get("heldout") is not None else "—"
        table.add_row(str(r["number"]), f"{r['accuracy']:.3f}", ci, vs, held, f"{r['calls_per_query']}",
                      Text((r.get("architecture") or "?") + (f" ({r['seeded_from']})" if r.get("seeded_from") else "")))
    return table


def front_table(rows: list[dict[str, Any]], cost: str) -> RenderableType:
    from rich.table import Table

    table = Table("trial", "accuracy", cost.replace("_", " "), title="Pareto front (accuracy ↑, cost ↓)")
    for r in pareto_front(rows, cost):
        table.add_row(str(r["number"]), f"{r['accuracy']:.3f}", f"{r[cost] or 0:.4g}")
    return table


def progress_view(s: Status) -> RenderableType:
    from rich.table import Table

    def budget(spent: float, limit: float | None, fmt: str) -> str:
        return format(spent, fmt) + (f" / {format(limit, fmt)}" if limit is not None else "")

    grid = Table.grid(padding=(0, 2))
    grid.add_row("trials", f"{s.done} / {s.total}")
    for r in s.running.values():
        grid.add_row(f"running #{r.number}", f"{r.architecture}  ({r.examples_done}/{r.examples_total} examples)")
    grid.add_row("best so far", f"{s.best:.3f} (trial {s.best_trial})" if s.best is not None else "—")
    frac = f" ({s.cache_hits / s.calls:.0%} from cache)" if s.calls else ""
    grid.add_row("calls", f"{s.calls}{frac}")
    grid.add_row("engine tokens", budget(s.engine_tokens, s.budget_tokens, "d"))
    if s.usd or s.budget_usd:
        grid.add_row("usd", budget(s.usd, s.budget_usd, ".4f"))
    eta = f"{s.eta_s:.0f}s" if s.eta_s is not None else "—"
    grid.add_row("elapsed / ETA", f"{budget(s.elapsed, s.budget_wall_s, '.0f')}s / {eta}")
    if s.last:
        grid.add_row("last", s.last)
    return grid
