"""Trials as Ray tasks. The driver keeps the Optuna study (the only writer of study.db and the
run dir); a task evaluates one spec against the supervised engines and returns the outcome.

Placement: a trial task reserves no CPU (it waits on HTTP to the engines, which hold the CPUs
and GPUs); the driver never has more than `workers` in flight, and SPREAD puts them on
different nodes, at a lower CPU priority than the engines beside it (`TRIAL_NICE`). The trial's
sandboxed code runs (unit-test execution, code scoring) are Ray tasks of their own, spread over
the cluster beside generation (`sandbox/pool.py`).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from archon_cli.config.pipeline import ModelSpec, PipelineSpec
from archon_cli.search.objective import TrialOutcome, run_trial
from archon_cli.tasks.base import Example

# Where a trial shares cores with CPU engines, the engines are the bottleneck and the trial's
# own work (parsing, planning, HTTP) is not: its requests wait queued in the engines anyway.
TRIAL_NICE = 5


def yield_cpu_to_engines() -> None:
    """Raise this thread's nice value to TRIAL_NICE (Linux: per thread; threads it starts later
    inherit it). Raising is always allowed; the engines, started elsewhere, keep theirs."""
    if os.getpriority(os.PRIO_PROCESS, 0) < TRIAL_NICE:
        os.setpriority(os.PRIO_PROCESS, 0, TRIAL_NICE)


def evaluate_trial(spec: PipelineSpec, examples: Sequence[Example], scorer_name: str,
                   models: dict[str, ModelSpec], supervisor: Any, cache_path: str | None,
                   rungs: list[int], eta: int, competitors: dict[int, list[float]],
                   calls_budget: int | None) -> tuple[TrialOutcome, str]:
    """Runs in a Ray worker process; returns the outcome and the node it ran on."""
    import ray

    from archon_cli.cluster.supervisor import RayEngines
    from archon_cli.llm.cache import CompletionCache
    from archon_cli.llm.client import LLMClient
    from archon_cli.sandbox import pool as sandbox_pool
    from archon_cli.tasks import SCORERS

    yield_cpu_to_engines()
    sandbox_pool.run_on_ray()
    cache = CompletionCache(Path(cache_path)) if cache_path else None
    client = LLMClient(models, RayEngines(supervisor), cache)
    client.prewarm()  # a worker's first trial imports while the replicas may still be starting
    loop = asyncio.new_event_loop()
    try:
        outcome = run_trial(spec, examples, SCORERS.get(scorer_name)(None), client, run=loop.run_until_complete,
                            rungs=rungs, eta=eta, rung_competitors=lambda size: competitors.get(size, []),
                            calls_budget=calls_budget)
    finally:
        loop.close()
    node = f"{ray.util.get_node_ip_address()}/{ray.get_runtime_context().get_node_id()[:8]}/pid{os.getpid()}"
    return outcome, node


def remote_evaluate_trial() -> Any:
    import ray

    return ray.remote(evaluate_trial).options(num_cpus=0, scheduling_strategy="SPREAD", max_retries=0)
