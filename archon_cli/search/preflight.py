"""Check a search config completely before anything runs or is written.

Schema validation (config/) sees one file; this sees what the names in it refer to: the dataset
and scorer registries, each component's `Params`, the model aliases, the split the dataset
allows, and whether the space holds any valid architecture within the budget. Every problem is
reported at once, each with its YAML path; `archon validate` and `archon search` both call this.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from archon_cli.components import COMPONENTS
from archon_cli.config.loader import did_you_mean
from archon_cli.config.pipeline import ModelSpec
from archon_cli.config.search import SearchConfig, TaskConfig
from archon_cli.config.space import Block, Choices, ComponentSpace, FloatRange, IntRange, SpaceSpec
from archon_cli.errors import ArchonError, ConfigError, MissingCredentials
from archon_cli.llm.credentials import credential_problems
from archon_cli.search.space import ENUMERATION_LIMIT, SpaceSummary, count_configurations, summarize
from archon_cli.search.split import split_sizes
from archon_cli.tasks import DATASETS, SCORERS
from archon_cli.tasks.loading import is_file_dataset, load_examples


def check_search_config(cfg: SearchConfig, source: str | Path = "search config", *,
                        credentials: bool = True) -> SpaceSummary:
    """Raise one ConfigError listing every problem of `cfg`; when it can run, return the
    space's summary (the enumeration it took, for `archon validate` to print). `credentials`:
    also require every hosted model's key in the environment (llm/credentials.py), so a search
    without one stops before its run dir exists instead of failing every trial."""
    space, models = cfg.resolved_space(), cfg.resolved_models()
    problems = task_problems(cfg.task) + space_problems(space, models, "space.")
    keys = credential_problems(models, "models" if cfg.models else "space.models") if credentials else []
    if keys and not problems:
        raise MissingCredentials(f"{source}: a hosted model's API key is not in the environment "
                                 "(nothing was called)", keys)
    problems += keys
    grid = cfg.search.sampler == "grid"
    if not problems and grid and (size := count_configurations(space, models)) > ENUMERATION_LIMIT:
        problems.append(_grid_problem(size, ENUMERATION_LIMIT))  # counted: no need to enumerate to know
    if problems:  # the enumeration below needs known components and aliases
        raise ConfigError(f"{source}: invalid search config", problems)
    found = summarize(space, models)
    problems = feasibility_problems(found, cfg.budget.calls_per_query)
    if grid and found.truncated:  # stopped by the work limit
        problems.append(_grid_problem(found.size, found.checked))
    if problems:
        raise ConfigError(f"{source}: invalid search config", problems)
    return found


def _grid_problem(size: int, enumerated: int) -> str:
    return (f"search.sampler: a grid over {size} configurations, more than can be enumerated ({enumerated}); "
            "use tpe or random, or narrow the space")


def check_space(space: SpaceSpec, models: dict[str, ModelSpec], source: str | Path) -> SpaceSummary:
    """The same checks for a space file on its own."""
    problems = space_problems(space, models, "")
    if problems:
        raise ConfigError(f"{source}: invalid search space", problems)
    found = summarize(space, models)
    problems = feasibility_problems(found, None)
    if problems:
        raise ConfigError(f"{source}: invalid search space", problems)
    return found


def task_problems(task: TaskConfig) -> list[str]:
    problems: list[str] = []
    n: int | None = None
    default_scorer: str | None = None
    if _is_file(task.dataset):
        try:
            examples, default_scorer = load_examples(task.dataset, limit=task.size, seed=task.seed)
            n = len(examples)
        except ArchonError as exc:
            problems.append(f"task.dataset: {exc}")
        except OSError as exc:
            problems.append(f"task.dataset: cannot read {task.dataset[:100]!r}: {exc.strerror}")
    elif task.dataset in DATASETS:
        ds = DATASETS.get(task.dataset)()
        default_scorer, total = ds.default_scorer, ds.size()
        n = ds.default_size() if task.size is None else task.size if total is None else min(task.size, total)
    else:
        problems.append(f"task.dataset: unknown dataset {task.dataset[:100]!r}"
                        f"{did_you_mean(task.dataset, DATASETS.names())} (known: {', '.join(DATASETS.names())}; "
                        "or a .jsonl/.csv file)")
    scorer = task.scorer or default_scorer
    if scorer is not None and scorer not in SCORERS:
        problems.append(f"task.scorer: unknown scorer {scorer[:100]!r}{did_you_mean(scorer, SCORERS.names())} "
                        f"(known: {', '.join(SCORERS.names())})")
    if n is not None:  # None: a plugin's generated dataset that does not say its default size
        try:
            split_sizes(n, task)
        except ConfigError as exc:
            problems.append(str(exc))
    return problems


def _is_file(dataset: str) -> bool:
    try:
        return is_file_dataset(dataset)
    except OSError:  # a name too long to be a path is not a file
        return dataset.lower().endswith((".jsonl", ".csv"))


def space_problems(space: SpaceSpec, models: dict[str, ModelSpec], prefix: str) -> list[str]:
    """Names the space uses that do not exist: component types and parameters, model aliases,
    defaults that no component of the space takes."""
    problems: list[str] = []
    taken: set[str] = set()
    for where, comp in _components(space.layers, f"{prefix}layers"):
        if comp.type not in COMPONENTS:
            problems.append(f"{where}.type: unknown component {comp.type[:100]!r}"
                            f"{did_you_mean(comp.type, COMPONENTS.names())} (known: {', '.join(COMPONENTS.names())})")
            continue
        params = COMPONENTS.get(comp.type).Params
        fields = set(params.model_fields) - {"type"}
        taken |= fields
        problems += _param_problems(comp, params, fields, where)
        problems += _model_problems(comp, fields, models, where)
    for key, val in space.defaults.items():
        if key not in taken:
            problems.append(f"{prefix}defaults.{key}: no component of the space takes it"
                            f"{did_you_mean(key, taken)}")
        elif (msg := _invalid_default(space.layers, key, val)) is not None:
            problems.append(f"{prefix}defaults.{key}: {val!r}: {msg}")
    return problems


def _invalid_default(blocks: list[Block], key: str, val: Any) -> str | None:
    """Why some component of the space that takes `key` refuses `val`; None if all accept it."""
    for _, comp in _components(blocks, ""):
        if comp.type not in COMPONENTS:  # reported on its own
            continue
        params = COMPONENTS.get(comp.type).Params
        if key in params.model_fields and key not in comp.params and (msg := _refusal(params, key, val)):
            return f"{comp.type}: {msg}"
    return None


def _refusal(params: type[BaseModel], key: str, val: Any) -> str | None:
    """Why the field `key` of `params` refuses `val` (None: it accepts it)."""
    try:
        params.__pydantic_validator__.validate_assignment(params.model_construct(), key, val)
    except ValidationError as exc:
        return str(exc.errors()[0]["msg"])
    return None


def referenced_aliases(space: SpaceSpec) -> list[str]:
    """The model aliases the space's components name, in order of first mention."""
    seen: dict[str, None] = {}
    for _, comp in _components(space.layers, ""):
        for alias in comp.model.choices if isinstance(comp.model, Choices) else [comp.model]:
            if isinstance(alias, str):
                seen.setdefault(alias)
    return list(seen)


def _components(blocks: list[Block], where: str) -> list[tuple[str, ComponentSpace]]:
    """(YAML path, component) for every component in a block tree."""
    out: list[tuple[str, ComponentSpace]] = []
    for j, b in enumerate(blocks):
        here = f"{where}.{j}"
        if b.component is not None:
            out.append((f"{here}.component", b.component))
        for key, alt in (b.choice or {}).items():
            out += _components(alt, f"{here}.choice.{key}")
        out += _components(b.blocks or [], f"{here}.blocks")
    return out


def _param_problems(comp: ComponentSpace, params: type[BaseModel], fields: set[str], where: str) -> list[str]:
    problems = []
    for key, param in comp.params.items():
        if key not in fields:
            problems.append(f"{where}.params.{key}: {comp.type} has no parameter {key!r}"
                            f"{did_you_mean(key, fields)}")
            continue
        for val in _candidates(param):  # each value the range can take must be one the component accepts
            if (msg := _refusal(params, key, val)) is not None:
                problems.append(f"{where}.params.{key}: {val!r}: {msg}")
                break
    return problems


def _candidates(param: Any) -> list[Any]:
    if isinstance(param, IntRange | FloatRange):
        return list(param.bounds)  # every bound is an interval: its ends stand for it
    if isinstance(param, Choices):
        return list(param.choices)
    return [param]


def _model_problems(comp: ComponentSpace, fields: set[str], models: dict[str, ModelSpec], where: str
                    ) -> list[str]:
    if comp.model is None and comp.ensemble is None:
        return []
    if "model" not in fields:
        key = "model" if comp.model is not None else "ensemble"
        return [f"{where}.{key}: {comp.type} calls no model"]
    aliases = comp.model.choices if isinstance(comp.model, Choices) else [comp.model] if comp.model else []
    return [f"{where}.model: unknown model alias {alias!r}{did_you_mean(str(alias), models)} "
            f"(defined: {', '.join(models)})" for alias in aliases if alias not in models]


def feasibility_problems(s: SpaceSummary, calls_budget: int | None) -> list[str]:
    """No valid architecture at all, or none within `budget.calls_per_query`. Judged on a complete
    enumeration only: the first configurations of a huge space say nothing about the rest."""
    if s.truncated:
        return []
    if s.feasible == 0:
        return [f"space: none of its {s.checked} configurations is a valid pipeline (most often: {s.common_reason})"]
    if calls_budget is not None and s.calls_min is not None and s.calls_min > calls_budget:
        return [f"budget.calls_per_query: {calls_budget}, but the cheapest architecture of the space needs "
                f"{s.calls_min} calls per query"]
    return []
