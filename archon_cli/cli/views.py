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


class LiveProgress:
    """The live view of a search: rendered afresh at every refresh of rich's Live, so the clock
    and the running trials' counters tick even while the loop waits on a long trial."""

    def __init__(self, status: Status | None = None) -> None:
        from rich.spinner import Spinner

        self.status = status
        self.spinner = Spinner("dots")  # one instance: its frame follows the clock

    def __rich__(self) -> RenderableType:
        from rich.text import Text

        if self.status is None:
            self.spinner.update(text=Text("opening the study and the engines ..."))
            return self.spinner
        self.spinner.update(text=Text("searching"))
        return progress_view(self.status, self.spinner)


def progress_view(s: Status, spinner: RenderableType | str = "") -> RenderableType:
    """One labelled number per row; the running trials' rows wrap on spaces at any width."""
    from rich.table import Table
    from rich.text import Text

    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    running = dict(s.running)  # the loop thread may change it while this renders
    if spinner:
        grid.add_row(spinner, "")
    grid.add_row("trials", f"{s.done} done / {s.total}" + (f", {len(running)} running" if running else ""))
    for r in running.values():
        grid.add_row(f"trial #{r.number}", Text(f"{r.architecture} · {r.examples_done}/{r.examples_total} "
                                                f"examples · {r.calls} calls, {r.in_flight} in flight"))
    grid.add_row("best so far", f"{s.best:.3f} (trial {s.best_trial})" if s.best is not None else "—")
    grid.add_row("calls", f"{s.calls}" + (f" ({s.cache_hits / s.calls:.0%} from cache)" if s.calls else ""))
    limit = f" of {s.budget_tokens} budget" if s.budget_tokens is not None else ""
    grid.add_row("engine tokens", f"{s.engine_tokens}{limit}")
    if s.usd or s.budget_usd:
        grid.add_row("usd", f"${s.usd:.4f}" + (f" of ${s.budget_usd} budget" if s.budget_usd is not None else ""))
    grid.add_row("elapsed", f"{s.elapsed:.0f}s")
    if s.wall_left_s is not None:
        grid.add_row("wall left", f"{s.wall_left_s:.0f}s of {s.budget_wall_s:.0f}s budget")
    grid.add_row("ETA", f"{s.eta_s:.0f}s" if s.eta_s is not None else "— (after the first trial)")
    if s.last:
        grid.add_row("last", Text(s.last))
    return grid
