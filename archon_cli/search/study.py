"""The Optuna study: storage in the run dir, sampler, directions, seed architectures.

Optuna is the source of truth: every trial's params, state, values and our metrics (user
attrs) live in `study.db`; the CSV, plots, best.yaml and `archon show` are views of it. The
study is named after its run dir, so several runs can share a storage or a dashboard; a run
whose storage holds one study opens that one whatever its name (runs before this were all
named `archon`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Literal

from archon_cli.config.pipeline import ModelSpec, PipelineSpec
from archon_cli.config.search import SearchConfig
from archon_cli.config.space import SpaceSpec
from archon_cli.errors import MissingDependencyError, RunStateError
from archon_cli.pipeline import Pipeline
from archon_cli.runs import RunDir
from archon_cli.search.greedy import greedy_sampler
from archon_cli.search.space import enumerate_space

TPE_STARTUP = 4  # random trials before TPE models the space: small, since our budgets allow few trials


def directions(cfg: SearchConfig) -> list[Literal["minimize", "maximize"]]:
    costs: list[Literal["minimize", "maximize"]] = ["minimize"] * (len(cfg.search.objectives) - 1)
    return ["maximize", *costs]


def metric_names(cfg: SearchConfig) -> list[str]:
    """The objectives as Optuna (and optuna-dashboard) names them, in `directions` order."""
    return ["accuracy", *(f"{o}_per_query" for o in cfg.search.objectives[1:])]


def make_sampler(cfg: SearchConfig) -> Any:
    """Constraints (calls per query over budget) reach the samplers through `trial.set_constraint`."""
    import warnings

    import optuna

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

    s = cfg.search
    if s.sampler == "tpe":
        # multivariate + group: the space is conditional (a ranker's top_k exists only with a ranker)
        # Constant liar: trials in flight count as bad guesses, so parallel workers spread out.
        return optuna.samplers.TPESampler(seed=s.seed, n_startup_trials=TPE_STARTUP, multivariate=True, group=True,
                                          constant_liar=cfg.execution.workers > 1)
    if s.sampler == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=s.seed)
    if s.sampler == "gp":
        try:
            import scipy  # noqa: F401
            import torch  # noqa: F401
        except ImportError:
            raise MissingDependencyError("the gp sampler needs torch and scipy: pip install torch scipy") from None
        return optuna.samplers.GPSampler(seed=s.seed, n_startup_trials=TPE_STARTUP)
    if s.sampler == "greedy":
        return greedy_sampler(s.seed)
    # random, and grid (the grid is enqueued; the random sampler fills anything left)
    return optuna.samplers.RandomSampler(seed=s.seed)


def study_name(run: RunDir, stored: list[str]) -> str:
    """The run dir's name, or the one study its storage already holds (an older run's `archon`,
    or a run dir renamed since)."""
    if len(stored) == 1:
        return stored[0]
    if stored and run.path.name not in stored:
        raise RunStateError(f"{run.study_db}: {len(stored)} studies ({', '.join(sorted(stored))}) and none "
                            f"named {run.path.name!r}: which one is this run's is unknown")
    return run.path.name


def open_study(run: RunDir, cfg: SearchConfig) -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.get_storage(run.storage_url)
    name = study_name(run, optuna.study.get_all_study_names(storage))
    return optuna.create_study(storage=storage, study_name=name, sampler=make_sampler(cfg),
                               directions=directions(cfg), load_if_exists=True)


def name_metrics(study: Any, cfg: SearchConfig) -> None:
    """Name the objectives in the study (the search loop, its only writer, calls this)."""
    if study.metric_names != metric_names(cfg):
        study.set_metric_names(metric_names(cfg))


@dataclass(frozen=True)
class Seed:
    label: str
    params: dict[str, Any]
    calls: int
    temperature: float = 0.0  # the first layer's highest


def _types(spec: PipelineSpec) -> list[str]:
    return [layer[0].type for layer in spec.layers]


def _first_layer_outputs(spec: PipelineSpec) -> int:
    return sum(int(getattr(c, "samples", 1)) for c in spec.layers[0])


def _temperature(spec: PipelineSpec) -> float:
    return max(float(getattr(c, "temperature", 0.0)) for c in spec.layers[0])


def seed_architectures(space: SpaceSpec, models: dict[str, ModelSpec], calls_budget: int | None) -> list[Seed]:
    """Known architectures, when the space can express them within the budget: the single call
    (greedy where the space allows: the baseline a user would try first), best-of-n + vote,
    MoA-style (generators then fusers), Archon's critique → rank → fuse (these sampled)."""
    best: dict[str, tuple[tuple[float, float], Seed]] = {}
    for point in enumerate_space(space, models):
        if point.spec is None:
            continue
        calls = Pipeline(point.spec).estimate_calls().calls
        if calls_budget is not None and calls > calls_budget:
            continue
        types, n0, temperature = _types(point.spec), _first_layer_outputs(point.spec), _temperature(point.spec)
        greedy = float(temperature == 0)
        wanted: list[tuple[str, tuple[float, float]]] = []
        if types == ["generator"] and n0 == 1:
            wanted.append(("single-model", (calls, temperature)))
        if types == ["generator", "majority_vote"] and n0 >= 3:
            wanted.append(("best-of-n-vote", (abs(n0 - 5), greedy)))  # five samples, the usual self-consistency
        if len(types) >= 2 and types[0] == "generator" and set(types[1:]) == {"fuser"} and n0 >= 2:
            wanted.append(("moa", (calls, greedy)))
        if types == ["generator", "critic", "ranker", "fuser"] and n0 >= 2:
            wanted.append(("archon-critique-rank-fuse", (calls, greedy)))
        for label, rank in wanted:
            if label not in best or rank < best[label][0]:
                best[label] = (rank, Seed(label, point.params, calls, temperature))
    order = ["single-model", "best-of-n-vote", "moa", "archon-critique-rank-fuse"]
    return [best[k][1] for k in order if k in best]


def missing_baselines(space: SpaceSpec, models: dict[str, ModelSpec], calls_budget: int | None) -> list[str]:
    """Warnings for the obvious answers a space cannot express: a search that cannot even try
    one greedy call, or a plain vote, cannot show it beats them."""
    seeds = {s.label: s for s in seed_architectures(space, models, calls_budget)}
    warnings = []
    single = seeds.get("single-model")
    if single is None or single.temperature > 0:
        warnings.append("the space cannot express one greedy call (a generator with samples 1, temperature 0, "
                        "and nothing after it): the search cannot try the first thing a user would")
    if "best-of-n-vote" not in seeds:
        warnings.append("the space cannot express a majority vote over 3 or more samples")
    return warnings


def grid_points(space: SpaceSpec, models: dict[str, ModelSpec], calls_budget: int | None, seed: int
                ) -> list[dict[str, Any]]:
    """Every feasible configuration within budget, in a seeded random order."""
    points = [p.params for p in enumerate_space(space, models) if p.spec is not None
              and (calls_budget is None or Pipeline(p.spec).estimate_calls().calls <= calls_budget)]
    random.Random(seed).shuffle(points)
    return points
