"""A trial's record: the study's user attrs and the trial dir's files, written by the search
loop alone (the only writer of study.db and the run dir), and the views rewritten after each.

`trials/NNNN/pipeline.yaml` is the record of what a trial evaluated: replay, export and
best.yaml load it. On resume, each stored spec is checked against a rebuild from its params.
"""

from __future__ import annotations

import json
from typing import Any

from archon_cli.components.describe import describe_spec
from archon_cli.components.validate import load_pipeline
from archon_cli.config.pipeline import PipelineSpec
from archon_cli.config.search import SearchConfig
from archon_cli.fsutil import atomic_write_text
from archon_cli.llm.usage import Usage
from archon_cli.runs import RunDir, env_info
from archon_cli.search.objective import TrialOutcome, engine_tokens
from archon_cli.search.results import write_plots, write_tables
from archon_cli.search.space import Infeasible, build
from archon_cli.stats import mean_interval

FINISHED = ("COMPLETE", "PRUNED", "FAIL")


def counted(trial: Any) -> bool:
    """Trials that count toward `search.trials`: finished, not cut short by an interruption."""
    a = trial.user_attrs
    return trial.state.name in FINISHED and not a.get("interrupted") and a.get("duplicate_of") is None


def trial_state(name: str) -> Any:
    from optuna.trial import TrialState

    return TrialState[name]


def write_spec(run: RunDir, trial: Any, spec: PipelineSpec) -> None:
    """The trial's pipeline: its file (the record) and, for Optuna's own views (a dashboard, a
    copied study.db), the same YAML text on the trial."""
    text = spec.to_yaml()
    atomic_write_text(run.trial_dir(trial.number) / "pipeline.yaml", text)
    trial.set_user_attr("architecture", describe_spec(spec))
    trial.set_user_attr("pipeline_yaml", text)


def usage_attrs(u: Usage, n_examples: int) -> dict[str, Any]:
    n = max(1, n_examples)
    return {"calls": u.calls, "cache_hits": u.cache_hits, "prompt_tokens": u.prompt_tokens,
            "completion_tokens": u.completion_tokens, "cached_prompt_tokens": u.cached_prompt_tokens,
            "cached_completion_tokens": u.cached_completion_tokens, "engine_tokens": engine_tokens(u),
            "usd": u.usd, "latency_s": u.latency_s, "tokens_per_query": (u.prompt_tokens + u.completion_tokens) / n,
            "usd_per_query": u.usd / n}


def record_outcome(study: Any, trial: Any, outcome: TrialOutcome, cfg: SearchConfig, run: RunDir,
                   node: str | None = None) -> None:
    """Write the trial's files and tell the study; the one place a result enters the run."""
    single = len(cfg.search.objectives) == 1
    if node is not None:
        trial.set_user_attr("node", node)
    attrs = {"outcome": outcome.state, "reason": outcome.reason, "n_examples": outcome.n_examples,
             "calls_per_query": outcome.calls_per_query, "rung_scores": outcome.rung_scores,
             **usage_attrs(outcome.usage, outcome.n_examples)}
    if outcome.accuracy is not None:
        scored = [float(p["score"]) for p in outcome.predictions if p.get("score") is not None]
        ci = mean_interval(scored)
        attrs |= {"accuracy": outcome.accuracy, "accuracy_low": ci.low, "accuracy_high": ci.high}
    for key, val in attrs.items():
        trial.set_user_attr(key, val)
    if cfg.budget.calls_per_query is not None:
        trial.set_constraint("calls_per_query", float(outcome.calls_per_query - cfg.budget.calls_per_query))
    _write_files(run, trial, outcome)
    if single:
        for size, score in outcome.rung_scores.items():
            trial.report(score, step=int(size))
    if outcome.state == "complete":
        study.tell(trial, [outcome.accuracy or 0.0] + [outcome.cost(o) for o in cfg.search.objectives[1:]])
    elif outcome.state == "fail":
        study.tell(trial, state=trial_state("FAIL"))
    else:
        if single and outcome.state == "infeasible":
            trial.report(0.0, step=0)  # TPE learns to avoid it
        study.tell(trial, state=trial_state("PRUNED"))
    run.log(describe_outcome(trial.number, outcome) + f" params={trial.params}" + (f" node={node}" if node else ""))
    finalize(run, study, cfg, plots=False)


def describe_outcome(number: int, outcome: TrialOutcome) -> str:
    return f"trial {number}: {outcome.state}" + (
        f" {outcome.accuracy:.3f} on {outcome.n_examples} examples" if outcome.accuracy is not None else "") + (
        f" ({outcome.reason})" if outcome.reason else "")


def _write_files(run: RunDir, trial: Any, outcome: TrialOutcome) -> None:
    tdir = run.trial_dir(trial.number)
    if outcome.state != "infeasible" and not (tdir / "pipeline.yaml").is_file():
        return  # failed before a spec existed: the study attrs say why
    if (tdir / "pipeline.yaml").is_file():
        run.write_jsonl(tdir / "predictions.jsonl", outcome.predictions)
        if outcome.trace:
            run.write_jsonl(tdir / "trace.jsonl", outcome.trace)
    if outcome.traceback:
        atomic_write_text(tdir / "traceback.txt", outcome.traceback)
    run.write_json(tdir / "metrics.json", outcome.metrics() | {"trial": trial.number, "params": trial.params})


# Set on the retry of a trial the wall-clock budget cut: that retry is allowed to finish, so a
# trial longer than the budget is not cut and re-run on every resume.
CUT_BY_WALL = "cut_by_wall_budget"


def record_interrupted(study: Any, run: RunDir, number: int, spent: Usage | None = None,
                       by_wall_budget: bool = False) -> None:
    """A trial cut short (budget, Ctrl-C, a kill): FAIL it with what it spent, which budgets
    count, and enqueue its params again for the next run or resume."""
    trial = next(t for t in study.get_trials(deepcopy=False) if t.number == number)
    storage, tid = study._storage, trial._trial_id
    storage.set_trial_user_attr(tid, "interrupted", True)
    if spent is not None:
        for key, val in usage_attrs(spent, 1).items():
            storage.set_trial_user_attr(tid, key, val)
    study.tell(number, state=trial_state("FAIL"))
    study.enqueue_trial(trial.params, user_attrs={"retry_of": number} | ({CUT_BY_WALL: True} if by_wall_budget else {}),
                        skip_if_exists=False)
    run.write_json(run.trial_dir(number) / "metrics.json", {"state": "fail", "reason": "interrupted"})
    run.log(f"trial {number}: interrupted" + (f" after {spent.calls} calls" if spent is not None else ""))


def recover_interrupted(study: Any, run: RunDir) -> int:
    """Trials a killed process left RUNNING: FAIL them and enqueue their params again."""
    running = study.get_trials(deepcopy=False, states=(trial_state("RUNNING"),))
    for t in running:
        record_interrupted(study, run, t.number)
    return len(running)


def check_stored_specs(study: Any, run: RunDir, cfg: SearchConfig) -> list[str]:
    """On resume: each finished trial's stored pipeline.yaml against a rebuild from its params.
    A difference (code or space changed since) is logged; the stored file stays the record."""
    problems = []
    for t in study.get_trials(deepcopy=False, states=(trial_state("COMPLETE"), trial_state("PRUNED"))):
        path = run.trial_dir(t.number) / "pipeline.yaml"
        if not path.is_file() or t.user_attrs.get("duplicate_of") is not None:
            continue
        try:
            rebuilt = build(cfg.resolved_space(), cfg.resolved_models(), t.params, name=f"{cfg.name}-trial-{t.number}")
        except Infeasible as exc:
            problems.append(f"trial {t.number}: its params no longer build a pipeline ({exc})")
            continue
        if rebuilt.to_yaml_data() != load_pipeline(path).to_yaml_data():
            problems.append(f"trial {t.number}: {path} differs from its rebuild from params (the file is kept)")
    for p in problems:
        run.log(f"warning: {p}")
    return problems


def tell_duplicate(study: Any, trial: Any) -> bool:
    """An architecture already evaluated is told without running again and does not count
    toward `trials` (a small space would otherwise fill up with repeats). It is told PRUNED,
    never COMPLETE, so Optuna's `best_trials` (and a dashboard's front) list each architecture
    once; single-objective, it carries its twin's intermediate values, so TPE ranks it where
    the twin is, and its constraints."""
    for t in study.get_trials(deepcopy=False, states=(trial_state("COMPLETE"), trial_state("PRUNED"))):
        if t.number != trial.number and t.params == trial.params and t.user_attrs.get("duplicate_of") is None:
            trial.set_user_attr("duplicate_of", t.number)
            for key in ("outcome", "reason", "accuracy", "n_examples", "calls_per_query", "architecture"):
                if key in t.user_attrs:
                    trial.set_user_attr(key, t.user_attrs[key])
            trial.set_user_attr("outcome", "duplicate")
            trial.set_user_attr("reason", f"duplicate of trial {t.number} (not run again, not counted)")
            for key, val in t.constraints.items():
                trial.set_constraint(key, val)
            if len(study.directions) == 1:
                steps = dict(t.intermediate_values)
                if not steps and t.values:
                    steps = {int(t.user_attrs.get("n_examples", 0)): t.values[0]}
                for step, value in sorted(steps.items()):
                    trial.report(value, step=step)
            study.tell(trial, state=trial_state("PRUNED"))
            return True
    return False


def write_stop(study: Any, run: RunDir, cfg: SearchConfig, reason: str, engines: list[dict[str, object]],
               extra_env: dict[str, Any]) -> None:
    """Leave a complete, resumable run dir whatever stopped the search."""
    recover_interrupted(study, run)  # trials asked but never submitted, if any
    study.set_user_attr("stop_reason", reason)
    run.log(f"search stopped: {reason}")
    run.write_json(run.env_json, env_info(engines) | extra_env | _created(run))
    finalize(run, study, cfg)


def finalize(run: RunDir, study: Any, cfg: SearchConfig, plots: bool = True) -> None:
    """trials.csv, best.yaml, pareto.csv (and plots): views of the study, rewritten whole."""
    write_tables(run, study, cfg)
    if plots:
        write_plots(run, study, cfg)


def _created(run: RunDir) -> dict[str, Any]:
    """Keep the first `created` stamp across resumes."""
    try:
        first = json.loads(run.env_json.read_text(encoding="utf-8")).get("created")
    except (OSError, ValueError):
        return {}
    return {"created": first} if first else {}
