"""Views of a study: trial rows, picks (best / cheapest / knee), trials.csv, best.yaml, pareto.csv,
plots (matplotlib, Agg backend) and the rich tables and live progress of the CLI."""

from __future__ import annotations

import csv
import io
import math
from typing import TYPE_CHECKING, Any

from archon_cli.config.search import SearchConfig
from archon_cli.errors import ConfigError
from archon_cli.fsutil import atomic_write_text
from archon_cli.runs import RunDir

if TYPE_CHECKING:
    from rich.console import RenderableType

    from archon_cli.search.driver import Status

ATTR_COLUMNS = ("n_examples", "calls_per_query", "calls", "cache_hits", "prompt_tokens", "completion_tokens",
                "engine_tokens", "tokens_per_query", "usd", "usd_per_query", "latency_s", "seed", "reason", "node")


def trial_rows(study: Any, cfg: SearchConfig) -> list[dict[str, Any]]:
    """One flat dict per trial (the rows of trials.csv)."""
    cost_name = cfg.search.objectives[1] if len(cfg.search.objectives) > 1 else None
    rows = []
    for t in study.get_trials(deepcopy=False):
        a = t.user_attrs
        row: dict[str, Any] = {"number": t.number, "state": t.state.name,
                               "outcome": a.get("outcome", t.state.name.lower()),
                               "accuracy": a.get("accuracy")}
        if t.values and len(t.values) > 1:
            row[f"objective_{cost_name}"] = t.values[1]
        for col in ATTR_COLUMNS:
            row[col] = a.get(col)
        if a.get("interrupted"):
            row["reason"] = "interrupted"
        row["cache_hit_fraction"] = (a["cache_hits"] / a["calls"]) if a.get("calls") else None
        row["duration_s"] = t.duration.total_seconds() if t.duration else None
        for k, v in t.params.items():
            row[f"params_{k}"] = v
        rows.append(row)
    return rows


def complete_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Complete, evaluated trials (a duplicate repeats another trial's row)."""
    return [r for r in rows if r["state"] == "COMPLETE" and r["outcome"] == "complete" and r["accuracy"] is not None]


def pareto_front(rows: list[dict[str, Any]], cost: str = "calls_per_query") -> list[dict[str, Any]]:
    """Complete trials not dominated on (accuracy ↑, cost ↓), cheapest first."""
    done = complete_rows(rows)
    front = [r for r in done if not any(
        o["accuracy"] >= r["accuracy"] and (o[cost] or 0) <= (r[cost] or 0)
        and (o["accuracy"] > r["accuracy"] or (o[cost] or 0) < (r[cost] or 0)) for o in done)]
    return sorted(front, key=lambda r: (r[cost] or 0, -r["accuracy"]))


def cost_column(cfg: SearchConfig) -> str:
    cost = cfg.search.objectives[1] if len(cfg.search.objectives) > 1 else "calls"
    return {"calls": "calls_per_query", "tokens": "tokens_per_query", "usd": "usd_per_query"}[cost]


def pick(rows: list[dict[str, Any]], how: str, cost: str = "calls_per_query") -> dict[str, Any]:
    """best: highest accuracy (ties: cheaper); cheapest: the cheapest on the Pareto front;
    knee: the front point farthest from the line joining its two ends (normalised)."""
    done = complete_rows(rows)
    if not done:
        raise ConfigError("no complete trial in this run yet")
    if how == "best":
        return max(done, key=lambda r: (r["accuracy"], -(r[cost] or 0), -r["number"]))
    front = pareto_front(rows, cost)
    if how == "cheapest":
        return front[0]
    if how == "knee":
        if len(front) <= 2:
            return max(front, key=lambda r: r["accuracy"])
        (x0, y0), (x1, y1) = [(front[i][cost] or 0, front[i]["accuracy"]) for i in (0, -1)]
        sx, sy = (x1 - x0) or 1.0, (y1 - y0) or 1.0

        def dist(r: dict[str, Any]) -> float:
            x, y = ((r[cost] or 0) - x0) / sx, (r["accuracy"] - y0) / sy
            return (y - x) / math.sqrt(2)

        return max(front, key=dist)
    raise ConfigError(f"--pick: unknown choice {how!r} (best, cheapest, knee)")


def _csv(rows: list[dict[str, Any]]) -> str:
    columns: list[str] = []
    for r in rows:
        columns += [k for k in r if k not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns)
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in r.items()})
    return buf.getvalue()


def write_tables(run: RunDir, study: Any, cfg: SearchConfig) -> None:
    rows = trial_rows(study, cfg)
    atomic_write_text(run.trials_csv, _csv(rows))
    if not complete_rows(rows):
        return
    best = pick(rows, "best", cost_column(cfg))
    src = run.trial_dir(best["number"]) / "pipeline.yaml"
    if src.is_file():
        header = f"# best of {run.path.name}: trial {best['number']}, accuracy {best['accuracy']:.3f} " \
                 f"on {best['n_examples']} search examples\n"
        atomic_write_text(run.best_yaml, header + src.read_text(encoding="utf-8"))
    if len(cfg.search.objectives) > 1:
        atomic_write_text(run.pareto_csv, _csv(pareto_front(rows, cost_column(cfg))))


def write_plots(run: RunDir, study: Any, cfg: SearchConfig) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = trial_rows(study, cfg)
    run.plots.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    scored = [r for r in rows if r["accuracy"] is not None]
    for state, color in (("COMPLETE", "tab:blue"), ("PRUNED", "tab:gray")):
        pts = [r for r in scored if r["state"] == state]
        ax.scatter([r["number"] for r in pts], [r["accuracy"] for r in pts], c=color, label=state.lower(), s=18)
    best_so_far, xs, ys = -1.0, [], []
    for r in sorted(complete_rows(rows), key=lambda r: r["number"]):
        best_so_far = max(best_so_far, r["accuracy"])
        xs.append(r["number"])
        ys.append(best_so_far)
    ax.step(xs, ys, where="post", c="tab:red", label="best so far")
    ax.set(xlabel="trial", ylabel="accuracy (search split)", title="Optimisation history")
    ax.legend(loc="lower right")
    _save(fig, run.plots / "optimization_history.png")
    cost = cost_column(cfg)
    fig, ax = plt.subplots(figsize=(6, 4))
    done = complete_rows(rows)
    ax.scatter([r[cost] or 0 for r in done], [r["accuracy"] for r in done], c="tab:gray", s=18, label="trials")
    front = pareto_front(rows, cost)
    ax.plot([r[cost] or 0 for r in front], [r["accuracy"] for r in front], "o-", c="tab:red", label="Pareto front")
    ax.set(xlabel=cost.replace("_", " "), ylabel="accuracy", title="Accuracy vs cost")
    ax.legend(loc="lower right")
    _save(fig, run.plots / "pareto_front.png")


def _save(fig: Any, path: Any) -> None:
    import os
    import tempfile

    import matplotlib.pyplot as plt

    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".png")
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=100, bbox_inches="tight")
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.unlink(tmp)


def leaderboard(rows: list[dict[str, Any]], limit: int = 10, cost: str = "calls_per_query") -> RenderableType:
    from rich.table import Table

    table = Table("trial", "accuracy", "examples", "calls/q", "tokens/q", "cache hits", "architecture",
                  title="Leaderboard (complete trials, search split)")
    table.columns[-1].overflow = "fold"  # the architecture is the point: wrap it, never cut it
    ranked = sorted(complete_rows(rows), key=lambda r: (-r["accuracy"], r[cost] or 0))
    for r in ranked[:limit]:
        table.add_row(str(r["number"]), f"{r['accuracy']:.3f}", str(r["n_examples"]), f"{r['calls_per_query']}",
                      f"{r['tokens_per_query'] or 0:.0f}", f"{(r['cache_hit_fraction'] or 0):.0%}",
                      describe_params(r) + (f" [{r['seed']}]" if r.get("seed") else ""))
    return table


def front_table(rows: list[dict[str, Any]], cost: str) -> RenderableType:
    from rich.table import Table

    table = Table("trial", "accuracy", cost.replace("_", " "), title="Pareto front (accuracy ↑, cost ↓)")
    for r in pareto_front(rows, cost):
        table.add_row(str(r["number"]), f"{r['accuracy']:.3f}", f"{r[cost] or 0:.4g}")
    return table


def describe_params(row: dict[str, Any]) -> str:
    return ", ".join(f"{k.removeprefix('params_')}={v}" for k, v in row.items() if k.startswith("params_"))


def run_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    calls = sum(r["calls"] or 0 for r in rows)
    hits = sum(r["cache_hits"] or 0 for r in rows)
    states: dict[str, int] = {}
    for r in rows:
        states[r["outcome"]] = states.get(r["outcome"], 0) + 1
    return {"trials": len(rows), "states": states, "calls": calls, "cache_hits": hits,
            "cache_hit_fraction": hits / calls if calls else 0.0,
            "engine_tokens": sum(r["engine_tokens"] or 0 for r in rows)}


def progress_view(s: Status) -> RenderableType:
    from rich.table import Table

    def budget(spent: float, limit: float | None, fmt: str) -> str:
        return format(spent, fmt) + (f" / {format(limit, fmt)}" if limit is not None else "")

    grid = Table.grid(padding=(0, 2))
    grid.add_row("trials", f"{s.done} / {s.total}" + (f"  (running #{s.running}: {s.running_desc})"
                                                      if s.running is not None else ""))
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
