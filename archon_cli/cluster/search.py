"""The search loop on Ray: up to `workers` trials in flight as Ray tasks, engines as supervised
replica actors. The driver alone asks and tells the study and writes the run dir; trials that
are in flight when the search stops are cancelled and re-enqueued (as after a crash)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from archon_cli.config.search import SearchConfig
from archon_cli.runs import RunDir
from archon_cli.search.driver import (
    Interrupt,
    Prepared,
    Status,
    describe_spec,
    finish_trial,
    over_budget,
    prepare_trial,
    refresh_status,
    rung_snapshot,
    should_stop,
    stop_search,
)
from archon_cli.search.objective import TrialOutcome
from archon_cli.tasks.base import Example, Scorer

POLL_S = 0.5  # how often the driver looks at budgets, Ctrl-C and finished trials


def run_on_ray(cfg: SearchConfig, run: RunDir, study: Any, status: Status, examples: list[Example],
               scorer: Scorer, on_status: Callable[[Status], None], cache_path: Path | None) -> Status:
    import asyncio

    import ray

    from archon_cli.cluster.fanout import remote_evaluate_trial
    from archon_cli.cluster.runtime import init_ray
    from archon_cli.cluster.supervisor import start_supervisor

    cluster = init_ray(cfg.execution.ray_address)
    models = cfg.resolved_models()
    run.log(f"ray: {len(cluster['nodes'])} node(s); starting engine replicas")
    supervisor = start_supervisor(models, multi_node=len(cluster["nodes"]) > 1)
    evaluate = remote_evaluate_trial()
    pending: dict[Any, Prepared] = {}
    loop = asyncio.new_event_loop()
    try:
        with Interrupt(loop) as interrupt:
            refresh_status(status, study)
            on_status(status)
            try:
                while True:
                    interrupt.check()
                    while len(pending) < cfg.execution.workers and status.done + len(pending) < status.total:
                        if should_stop(status, cfg):
                            break
                        prepared = prepare_trial(study, cfg, run, status)
                        if prepared is None:  # a duplicate: should_stop counts them
                            continue
                        status.duplicates = 0
                        if prepared.spec is None:
                            assert prepared.outcome is not None
                            finish_trial(study, prepared.trial, prepared.outcome, cfg, run, status, wrote_spec=False)
                            refresh_status(status, study)
                            continue
                        n = prepared.trial.number
                        competitors = rung_snapshot(study, cfg.search.fidelity.rungs, len(examples), n)
                        ref = evaluate.remote(prepared.spec, examples, scorer.name, models, supervisor,
                                              str(cache_path) if cache_path else None, cfg.search.fidelity.rungs,
                                              cfg.search.fidelity.eta, competitors, cfg.budget.calls_per_query)
                        pending[ref] = prepared
                        status.running, status.running_desc = n, describe_spec(prepared.spec)
                        on_status(status)
                    if not pending:
                        should_stop(status, cfg)
                        break
                    if reason := over_budget(status, cfg):  # also stops trials in flight (re-enqueued)
                        status.stop_reason = reason
                        break
                    ready, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_S)
                    for ref in ready:
                        prepared = pending.pop(ref)
                        outcome, node = _result(ref)
                        finish_trial(study, prepared.trial, outcome, cfg, run, status, wrote_spec=True, node=node)
                        refresh_status(status, study)
                        status.done_this_session += 1
                        on_status(status)
            except KeyboardInterrupt:
                status.stop_reason = "interrupted"
                raise
            finally:
                for ref in pending:
                    ray.cancel(ref, force=True)
                engines = ray.get(supervisor.info.remote())
                ray.get(supervisor.stop.remote())
                stop_search(study, run, cfg, status, engines, {"ray": cluster})
    finally:
        loop.close()
    return status


def _result(ref: Any) -> tuple[TrialOutcome, str | None]:
    import traceback

    import ray

    try:
        outcome, node = ray.get(ref)
        return outcome, node
    except Exception as exc:  # trial boundary: a worker that crashed fails its trial only
        return TrialOutcome("fail", f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc()), None
