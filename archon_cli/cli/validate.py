"""`archon validate FILE`: check a pipeline, search config or search space. No model calls.

Pipelines: calls-per-query estimate. Search configs and spaces: the space's size and its
calls-per-query range (by enumerating it), and for a config the task split and budget.

A hosted model whose API key is not in the environment is an error (exit 2, the variable
named), as `archon run`/`eval`/`search` would stop on it: "valid" means the file runs here.
`--skip-keys` checks the file alone (a CI job or a laptop without the keys). A space file is
not run on its own, so its models' keys are checked where a search config uses it.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from archon_cli.cli.output import console, print_json
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


def validate(
    file: Annotated[Path, typer.Argument(help="a pipeline YAML, search config or search space")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON document on stdout instead")] = False,
    skip_keys: Annotated[bool, typer.Option("--skip-keys", help="do not require hosted models' API keys in the "
                                                              "environment")] = False,
) -> None:
    """Check a file and print its calls-per-query estimate (zero model calls)."""
    data = read_yaml(file)
    if is_search_config(data):
        report, lines = _search_config(file, data, keys=not skip_keys)
    elif is_space(data):
        report, lines = _space(file, data)
    else:
        report, lines = _pipeline(file, data, keys=not skip_keys)
    if as_json:
        print_json({"file": str(file), "valid": True} | report)
        return
    out = console()
    for line in lines:
        out.print(line)
    for warning in report.get("warnings", []):
        console(stderr=True).print(f"warning: {warning}")


Report = tuple[dict[str, Any], list[str]]  # (the JSON document, the lines a terminal shows)


def _pipeline(file: Path, data: object, *, keys: bool) -> Report:
    spec = parse_pipeline(data, file)
    if keys:
        require_credentials(spec.models)
    est = Pipeline(spec).estimate_calls()
    bound = "" if est.exact else " (upper bound: a verifier, an adaptive vote or the examples decide the rest)"
    report = {"kind": "pipeline", "name": spec.name, "layers": len(spec.layers), "calls_per_query": est.calls,
              "exact": est.exact, "calls_per_layer": list(est.per_layer)}
    return report, [f"{file}: valid pipeline '{spec.name}', {len(spec.layers)} layers",
                    f"calls per query: {est.calls}{bound}; per layer: {list(est.per_layer)}"]


def _space_lines(label: str, space: SpaceSpec, s: SpaceSummary) -> list[str]:
    cont = " (continuous parameters counted once each)" if s.continuous else ""
    valid = f"{s.feasible} valid among the first {s.checked} checked" if s.truncated else f"{s.feasible} valid"
    lines = [f"{label}: space '{space.name}': {s.size} configurations{cont}, {valid}"]
    if s.calls_min is not None:
        lines.append(f"calls per query: {s.calls_min}–{s.calls_max}")
    return lines


def _space(file: Path, data: object) -> Report:
    space = parse_space(data, file)
    # A space without models is completed by a search config; check it with the embedded model
    # standing in for every alias the space names.
    stand_in = ModelSpec(model="local/smollm2-135m")
    models = space.models or {alias: stand_in for alias in referenced_aliases(space) or ["default"]}
    summary = check_space(space, models, file)
    report = {"kind": "space", "name": space.name, "space": asdict(summary),
              "warnings": missing_baselines(space, models, None)}
    return report, _space_lines(f"{file}: valid search space", space, summary)


def _search_config(file: Path, data: object, *, keys: bool) -> Report:
    cfg = parse_search_config(data, file)
    # everything `archon search` checks before it writes a run dir
    summary = check_search_config(cfg, file, credentials=keys)
    lines = _space_lines(f"{file}: valid search config '{cfg.name}'", cfg.resolved_space(), summary)
    t, b, s = cfg.task, cfg.budget, cfg.search
    split = (f"{t.search_size} search" if t.search_size else f"{t.search_fraction:.0%} search") + \
        (f" / {t.test_size} test" if t.test_size else " / rest test")
    lines.append(f"task: {t.dataset} ({t.size or 'default'} examples, {split}, split seed {t.split_seed})")
    rungs = rung_sizes(s.fidelity.rungs, 10**9)[:-1]  # as raised to the rung floor, before the split's size
    lines.append(f"search: {s.trials} trials, {s.sampler} sampler, objectives {s.objectives}, "
                 f"fidelity rungs {rungs or 'none'}" + (f" (asked {s.fidelity.rungs})" if rungs != s.fidelity.rungs
                                                        else ""))
    limits = {k: v for k, v in b.model_dump().items() if v is not None}
    lines.append(f"budget: {limits or 'unlimited'}")
    report = {"kind": "search_config", "name": cfg.name, "space": asdict(summary),
              "task": t.model_dump(mode="json"),
              "search": {"trials": s.trials, "sampler": s.sampler, "objectives": list(s.objectives),
                         "fidelity_rungs": rungs, "asked_rungs": list(s.fidelity.rungs)},
              "budget": limits,
              "warnings": missing_baselines(cfg.resolved_space(), cfg.resolved_models(), b.calls_per_query)}
    return report, lines
