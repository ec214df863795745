"""`archon validate FILE`: check a pipeline, search config or search space. No model calls.

Pipelines: calls-per-query estimate. Search configs and spaces: the space's size and its
calls-per-query range (by enumerating it), and for a config the task split and budget.
"""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command()(validate)


def validate(file: Path = typer.Argument(..., help="a pipeline YAML, search config or search space")) -> None:
    """Check a file and print its calls-per-query estimate (zero model calls)."""
    from archon_cli.config.loader import read_yaml
    from archon_cli.config.search import is_search_config, is_space

    data = read_yaml(file)
    if is_search_config(data):
        _search_config(file, data)
    elif is_space(data):
        _space(file, data)
    else:
        _pipeline(file, data)


def _pipeline(file: Path, data: object) -> None:
    from archon_cli.cli.output import console
    from archon_cli.components.validate import parse_pipeline
    from archon_cli.pipeline import Pipeline

    spec = parse_pipeline(data, file)
    est = Pipeline(spec).estimate_calls()
    bound = "" if est.exact else " (upper bound: a verifier, an adaptive vote or the examples decide the rest)"
    out = console()
    out.print(f"{file}: valid pipeline '{spec.name}', {len(spec.layers)} layers")
    out.print(f"calls per query: {est.calls}{bound}; per layer: {list(est.per_layer)}")


def _print_space(label: str, space: object, models: dict) -> None:
    from archon_cli.cli.output import console
    from archon_cli.config.space import SpaceSpec
    from archon_cli.search.space import summarize

    assert isinstance(space, SpaceSpec)
    s = summarize(space, models)
    out = console()
    more = "+" if s.truncated else ""
    cont = " (continuous parameters counted once each)" if s.continuous else ""
    out.print(f"{label}: space '{space.name}': {s.size}{more} configurations{cont}, {s.feasible}{more} valid")
    if s.calls_min is not None:
        out.print(f"calls per query: {s.calls_min}–{s.calls_max}")


def _space(file: Path, data: object) -> None:
    from archon_cli.config.pipeline import ModelSpec
    from archon_cli.config.space import parse_space

    space = parse_space(data, file)
    # A space without models is completed by a search config; check it with the embedded model.
    models = space.models or {"default": ModelSpec(model="local/smollm2-135m")}
    _print_space(f"{file}: valid search space", space, models)


def _search_config(file: Path, data: object) -> None:
    from archon_cli.cli.output import console
    from archon_cli.config.search import parse_search_config

    cfg = parse_search_config(data, file)
    _print_space(f"{file}: valid search config '{cfg.name}'", cfg.resolved_space(), cfg.resolved_models())
    t, b, s = cfg.task, cfg.budget, cfg.search
    out = console()
    split = (f"{t.search_size} search" if t.search_size else f"{t.search_fraction:.0%} search") + \
        (f" / {t.test_size} test" if t.test_size else " / rest test")
    out.print(f"task: {t.dataset} ({t.size or 'default'} examples, {split}, split seed {t.split_seed})")
    out.print(f"search: {s.trials} trials, {s.sampler} sampler, objectives {s.objectives}, "
              f"fidelity rungs {s.fidelity.rungs or 'none'}")
    limits = {k: v for k, v in b.model_dump().items() if v is not None}
    out.print(f"budget: {limits or 'unlimited'}")
