"""Results of a study as data and files: trial rows, picks (best / cheapest / knee), the Pareto
front, trials.csv and pareto.csv (pandas), best.yaml and plots (optuna.visualization.matplotlib,
Agg backend). Terminal views of the same rows are in `cli/views.py`."""

from __future__ import annotations

import json
import math
from typing import Any, Literal

from archon_cli.config.search import SearchConfig
from archon_cli.errors import ConfigError, RunStateError
from archon_cli.fsutil import atomic_write_text
from archon_cli.runs import RunDir
from archon_cli.stats import paired_difference

Pick = Literal["best", "top", "cheapest", "knee"]  # the choices of --pick (replay, export, serve)
PICK_HELP = "best (the cheapest within one standard error of the top) | top (most accurate) | cheapest | knee"

ATTR_COLUMNS = ("n_examples", "calls_per_query", "calls", "cache_hits", "prompt_tokens", "completion_tokens",
                "engine_tokens", "tokens_per_query", "usd", "usd_per_query", "latency_s", "seeded_from", "reason",
                "node", "architecture", "accuracy_low", "accuracy_high")


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
        row["seeded_from"] = a.get("seeded_from", a.get("seed"))  # `seed` in runs before the rename
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
    """top: highest accuracy (ties: cheaper); best: the cheapest trial within one standard error
    of the top, among those scored on as many examples (the one-standard-error rule: on a few
    dozen examples the top is partly luck, and a cheaper architecture that noise cannot tell from
    it generalises as well; benchmarks/search_quality.py measured it); cheapest: the cheapest on
    the Pareto front; knee: the front point farthest from the line joining its two ends."""
    done = complete_rows(rows)
    if not done:
        raise RunStateError("no complete trial in this run yet")
    top = max(done, key=lambda r: (r["accuracy"], -(r[cost] or 0), -r["number"]))
    if how == "top":
        return top
    if how == "best":
        n = int(top.get("n_examples") or 0)
        se = math.sqrt(top["accuracy"] * (1 - top["accuracy"]) / n) if n else 0.0
        near = [r for r in done if r.get("n_examples") == top.get("n_examples")
                and r["accuracy"] >= top["accuracy"] - se - 1e-12]
        return min(near, key=lambda r: (r[cost] or 0, -r["accuracy"], r["number"]))
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
    raise ConfigError(f"--pick: unknown choice {how!r} (best, top, cheapest, knee)")


def compare_with_best(run: RunDir, rows: list[dict[str, Any]]) -> None:
    """Mark each complete trial against the best on the examples both saw: `vs_best` is "best",
    "tied" (paired test p ≥ 0.05) or "worse", with `vs_best_p`; `heldout` is the trial's
    held-out score where `archon replay` (or the verdict) measured one."""
    done = complete_rows(rows)
    if not done:
        return
    best = pick(rows, "top")  # what every trial is compared with: the most accurate
    best_scores = _scores_by_id(run, best["number"])
    for r in done:
        if (replayed := run.trial_dir(r["number"]) / "replay-test.json").is_file():
            r["heldout"] = json.loads(replayed.read_text(encoding="utf-8"))["estimate"]["mean"]
        if r["number"] == best["number"]:
            r["vs_best"] = "best"
            continue
        mine = _scores_by_id(run, r["number"])
        shared = sorted(set(mine) & set(best_scores))
        if shared:
            c = paired_difference([mine[i] for i in shared], [best_scores[i] for i in shared])
            r["vs_best"], r["vs_best_p"] = ("worse" if c.significant else "tied"), c.p_value


def _scores_by_id(run: RunDir, number: int) -> dict[str, float]:
    try:
        return {str(p["id"]): float(p["score"] or 0.0) for p in run.predictions(number)}
    except RunStateError:
        return {}


def _csv(rows: list[dict[str, Any]]) -> str:
    """Rows as CSV: columns in order of first appearance, None as an empty cell. The columns of
    object dtype keep each value as written (ints stay ints beside empty cells)."""
    import pandas as pd

    return str(pd.DataFrame(rows, dtype=object).to_csv(index=False, lineterminator="\r\n"))


def write_tables(run: RunDir, study: Any, cfg: SearchConfig) -> None:
    rows = trial_rows(study, cfg)
    compare_with_best(run, rows)
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


def write_plots(run: RunDir, study: Any, cfg: SearchConfig) -> list[str]:
    """Optuna's matplotlib plots of the study (Agg backend) in `plots/`: the history of accuracy,
    the Pareto front with its trials labelled (two objectives), the rung scores (single
    objective) and the parameter importances (two complete architectures or more). A plot that does
    not apply is not written (an older one is removed); the notes say why, and go to the log."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna
    from optuna.visualization import matplotlib as vis

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    run.plots.mkdir(parents=True, exist_ok=True)
    multi = len(study.directions) > 1
    names = study.metric_names or ["accuracy", *(f"objective {i}" for i in range(1, len(study.directions)))]
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    notes: list[str] = []

    def draw(name: str, why_not: str | None, plot: Any, integer_x: bool = False) -> None:
        path = run.plots / f"{name}.png"
        if why_not is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # optuna warns of few trials: the note says so
                try:
                    ax = plot()
                except (ValueError, RuntimeError) as exc:
                    why_not = f"optuna could not draw it: {exc}"
                    plt.close("all")
            if why_not is None:
                _tidy(ax, integer_x)
                _save(ax.figure, path)
                return
        path.unlink(missing_ok=True)
        notes.append(f"plots: no {name}.png ({why_not})")

    history_target = (lambda t: t.values[0]) if multi else None
    # PED-ANOVA (optuna's default evaluator, no sklearn) takes a given target as lower-is-better
    importance_target = (lambda t: -t.values[0]) if multi else None
    draw("optimization_history", None if complete else "no complete trial yet",
         lambda: vis.plot_optimization_history(study, target=history_target, target_name=names[0]), integer_x=True)
    draw("pareto_front", None if multi and complete else "single objective" if not multi else "no complete trial yet",
         lambda: _pareto(vis, study, names))
    reported = any(t.intermediate_values for t in complete)
    draw("intermediate_values", None if reported else "no trial reported rung scores (single objective only)",
         lambda: _labelled(vis.plot_intermediate_values(study), "examples scored (rung)", names[0]), integer_x=True)
    architectures = len({repr(sorted(t.params.items())) for t in complete})
    draw("param_importances", None if architectures >= 2 else
         f"{architectures} complete architecture(s): importances need 2 or more",
         lambda: vis.plot_param_importances(study, target=importance_target, target_name=names[0]))
    for note in notes:
        run.log(note)
    return notes


def _pareto(vis: Any, study: Any, names: list[str]) -> Any:
    """Cost across, accuracy up; each front trial labelled with its number."""
    ax = vis.plot_pareto_front(study, targets=lambda t: (t.values[1], t.values[0]), target_names=[names[1], names[0]])
    at: dict[tuple[float, float], list[str]] = {}
    for t in study.best_trials:
        at.setdefault((t.values[1], t.values[0]), []).append(f"#{t.number}")
    for xy, labels in at.items():  # trials on one point share one label
        ax.annotate(", ".join(labels), xy, textcoords="offset points", xytext=(4, 4), fontsize=8)
    return ax


def _labelled(ax: Any, xlabel: str, ylabel: str) -> Any:
    ax.set(xlabel=xlabel, ylabel=ylabel)
    return ax


def _tidy(ax: Any, integer_x: bool) -> None:
    """Trial numbers and rung sizes are whole: integer ticks; the legend beside the points."""
    from matplotlib.ticker import MaxNLocator

    if integer_x:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if ax.get_legend() is not None:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=8)


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


def run_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    calls = sum(r["calls"] or 0 for r in rows)
    hits = sum(r["cache_hits"] or 0 for r in rows)
    states: dict[str, int] = {}
    for r in rows:
        states[r["outcome"]] = states.get(r["outcome"], 0) + 1
    return {"trials": len(rows), "states": states, "calls": calls, "cache_hits": hits,
            "cache_hit_fraction": hits / calls if calls else 0.0,
            "engine_tokens": sum(r["engine_tokens"] or 0 for r in rows)}
