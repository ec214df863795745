"""`archon validate FILE`: check a pipeline, search config or search space. No model calls.

Pipelines: calls-per-query estimate. Search configs and spaces: the space's size and its
calls-per-query range (by enumerating it), and for a config the task split and budget.

A hosted model whose API key is not in the environment is an error (exit 2, the variable
named), as `archon run`/`eval`/`search` would stop on it: "valid" means the file runs here.
`--skip-keys` checks the file alone (a CI job or a laptop without the keys). A space file is
not run on its own, so its models' keys are checked where a search config uses it.
"""

from __future__ import annotations

from pathlib import Path

import typer

from archon_cli.cli.output import console
from archon_cli.components.validate import parse_pipeline
from archon_cli.config.loader import read_yaml
from archon_cli.config.pipeline import ModelSpec
from archon_cli.config.search import is_search_config, is_space, parse_search_config
from archon_cli.config.space import SpaceSpec, parse_space
from archon_cli.llm.credentials import require_credentials
from archon_cli.pipeline import Pipeline
from archon_cli.search.objective import rung_sizes
from archon_cli.search.preflight import check_search_config, check_space, referenced_aliases
from archon_cli.search.space import SpaceSummary
from archon_cli.search.study import missing_baselines


def register(app: typer.Typer) -> None:
    app.command()(validate)


def validate(file: Path = typer.Argument(..., help="a pipeline YAML, search config or search space"),
             skip_keys: bool = typer.Option(False, "--skip-keys",
                                            help="do not require hosted models' API keys in the environment"),
             ) -> None:
    """Check a file and print its calls-per-query estimate (zero model calls)."""
    data = read_yaml(file)
    if is_search_config(data):
        _search_config(file, data, keys=not skip_keys)
    elif is_space(data):
        _space(file, data)
    else:
        _pipeline(file, data, keys=not skip_keys)


def _pipeline(file: Path, data: object, *, keys: bool) -> None:
    spec = parse_pipeline(data, file)
    if keys:
        require_credentials(spec.models)
    est = Pipeline(spec).estimate_calls()
    bound = "" if est.exact else " (upper bound: a verifier, an adaptive vote or the examples decide the rest)"
    out = console()
    out.print(f"{file}: valid pipeline '{spec.name}', {len(spec.layers)} layers")
    out.print(f"calls per query: {est.calls}{bound}; per layer: {list(est.per_layer)}")


def _print_space(label: str, space: SpaceSpec, s: SpaceSummary) -> None:
    out = console()
    cont = " (continuous parameters counted once each)" if s.continuous else ""
    valid = f"{s.feasible} valid among the first {s.checked} checked" if s.truncated else f"{s.feasible} valid"
    out.print(f"{label}: space '{space.name}': {s.size} configurations{cont}, {valid}")
    if s.calls_min is not None:
        out.print(f"calls per query: {s.calls_min}–{s.calls_max}")


def _space(file: Path, data: object) -> None:
    space = parse_space(data, file)
    # A space without models is completed by a search config; check it with the embedded model
    # standing in for every alias the space names.
    stand_in = ModelSpec(model="local/smollm2-135m")
    models = space.models or {alias: stand_in for alias in referenced_aliases(space) or ["default"]}
    _print_space(f"{file}: valid search space", space, check_space(space, models, file))
    _warn_baselines(space, models, None)


def _warn_baselines(space: SpaceSpec, models: dict[str, ModelSpec], calls_budget: int | None) -> None:
    for warning in missing_baselines(space, models, calls_budget):
        console(stderr=True).print(f"warning: {warning}", soft_wrap=True, markup=False)


def _search_config(file: Path, data: object, *, keys: bool) -> None:
    cfg = parse_search_config(data, file)
    # everything `archon search` checks before it writes a run dir
    summary = check_search_config(cfg, file, credentials=keys)
    _print_space(f"{file}: valid search config '{cfg.name}'", cfg.resolved_space(), summary)
    t, b, s = cfg.task, cfg.budget, cfg.search
    out = console()
    split = (f"{t.search_size} search" if t.search_size else f"{t.search_fraction:.0%} search") + \
        (f" / {t.test_size} test" if t.test_size else " / rest test")
    out.print(f"task: {t.dataset} ({t.size or 'default'} examples, {split}, split seed {t.split_seed})")
    rungs = rung_sizes(s.fidelity.rungs, 10**9)[:-1]  # as raised to the rung floor, before the split's size
    out.print(f"search: {s.trials} trials, {s.sampler} sampler, objectives {s.objectives}, "
              f"fidelity rungs {rungs or 'none'}" + (f" (asked {s.fidelity.rungs})" if rungs != s.fidelity.rungs
                                                     else ""))
    limits = {k: v for k, v in b.model_dump().items() if v is not None}
    out.print(f"budget: {limits or 'unlimited'}")
    _warn_baselines(cfg.resolved_space(), cfg.resolved_models(), b.calls_per_query)
