"""The Ray executor: trials as Ray tasks, engines as supervised replica actors.

Placement: a trial task reserves no CPU (it waits on HTTP to the engines, which hold the CPUs
and GPUs); the loop never has more than `slots` in flight, and SPREAD puts them on different
nodes, at a lower CPU priority than the engines beside it (`TRIAL_NICE`). A trial's sandboxed
code runs (unit-test execution, code scoring) are Ray tasks of their own, spread over the
cluster beside generation (`sandbox/pool.py`). Running trials report their progress to a small
actor (`ProgressBoard`), which the loop reads at each poll, as it reads the in-process executor.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from types import TracebackType
from typing import Any

from archon_cli.cluster.runtime import init_ray
from archon_cli.cluster.supervisor import RayEngines, start_supervisor
from archon_cli.config.pipeline import ModelSpec
from archon_cli.errors import StorageError
from archon_cli.llm.cache import CompletionCache
from archon_cli.llm.client import LLMClient
from archon_cli.sandbox import pool as sandbox_pool
from archon_cli.search.executors import Finished, TrialExecutor, failed
from archon_cli.search.objective import TrialJob, TrialOutcome, TrialProgress, run_trial

# Where a trial shares cores with CPU engines, the engines are the bottleneck and the trial's
# own work (parsing, planning, HTTP) is not: its requests wait queued in the engines anyway.
TRIAL_NICE = 5


def yield_cpu_to_engines() -> None:
    """Raise this thread's nice value to TRIAL_NICE (Linux: per thread; threads it starts later
    inherit it). Raising is always allowed; the engines, started elsewhere, keep theirs."""
    if os.getpriority(os.PRIO_PROCESS, 0) < TRIAL_NICE:
        os.setpriority(os.PRIO_PROCESS, 0, TRIAL_NICE)


class ProgressBoard:
    """A Ray actor holding the last progress each running trial reported."""

    def __init__(self) -> None:
        self._progress: dict[int, TrialProgress] = {}

    def report(self, progress: TrialProgress) -> None:
        self._progress[progress.number] = progress

    def forget(self, number: int) -> None:
        self._progress.pop(number, None)

    def snapshot(self) -> dict[int, TrialProgress]:
        return dict(self._progress)


def evaluate_trial(job: TrialJob, supervisor: Any, cache_path: str | None, board: Any) -> tuple[TrialOutcome, str]:
    """Runs in a Ray worker process; returns the outcome and the node it ran on."""
    import ray

    yield_cpu_to_engines()
    sandbox_pool.run_on_ray()
    cache = CompletionCache(Path(cache_path)) if cache_path else None
    client = LLMClient(job.spec.models, RayEngines(supervisor), cache)
    client.prewarm()  # a worker's first trial imports while the replicas may still be starting
    outcome = asyncio.run(run_trial(job, client, report=board.report.remote))
    node = f"{ray.util.get_node_ip_address()}/{ray.get_runtime_context().get_node_id()[:8]}/pid{os.getpid()}"
    return outcome, node


class RayExecutor(TrialExecutor):
    def __init__(self, models: dict[str, ModelSpec], *, slots: int, ray_address: str | None,
                 cache_path: Path | None) -> None:
        self.slots = slots
        self._models, self._address, self._cache_path = models, ray_address, cache_path
        self._pending: dict[Any, TrialJob] = {}
        self._cluster: dict[str, Any] = {}

    def __enter__(self) -> RayExecutor:
        import ray

        self._cluster = init_ray(self._address)
        self._supervisor = start_supervisor(self._models, multi_node=len(self._cluster["nodes"]) > 1)
        self._board: Any = ray.remote(ProgressBoard).options(num_cpus=0).remote()
        self._remote = ray.remote(evaluate_trial).options(num_cpus=0, scheduling_strategy="SPREAD", max_retries=0)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        import ray

        self.cancel_all()
        ray.get(self._supervisor.stop.remote())

    def submit(self, job: TrialJob) -> None:
        self._board.report.remote(TrialProgress(job.number, len(job.examples)))
        ref = self._remote.remote(job, self._supervisor, str(self._cache_path) if self._cache_path else None,
                                  self._board)
        self._pending[ref] = job

    def wait(self, timeout: float) -> list[Finished]:
        import ray

        if not self._pending:
            return []
        ready, rest = ray.wait(list(self._pending), num_returns=1, timeout=timeout)
        if ready and rest:
            ready += ray.wait(rest, num_returns=len(rest), timeout=0)[0]
        finished = []
        for ref in ready:
            job = self._pending.pop(ref)
            self._board.forget.remote(job.number)
            try:
                outcome, node = ray.get(ref)
            except StorageError:
                raise  # a full disk stops the search (Ray re-raises the task's error as its own class)
            except Exception as exc:  # trial boundary: a worker that crashed fails its trial only
                outcome, node = failed(exc), None
            finished.append(Finished(job, outcome, node))
        return finished

    def progress(self) -> dict[int, TrialProgress]:
        import ray

        if not self._pending:
            return {}
        running = {job.number for job in self._pending.values()}
        snapshot: dict[int, TrialProgress] = ray.get(self._board.snapshot.remote())
        return {n: p for n, p in snapshot.items() if n in running}

    def running(self) -> int:
        return len(self._pending)

    def cancel_all(self) -> list[TrialProgress]:
        import ray

        if not self._pending:
            return []
        cut = self.progress()
        for ref, job in self._pending.items():
            ray.cancel(ref, force=True)
            self._board.forget.remote(job.number)
        jobs = list(self._pending.values())
        self._pending.clear()
        return [cut.get(job.number, TrialProgress(job.number, len(job.examples))) for job in jobs]

    def engines(self) -> list[dict[str, object]]:
        import ray

        info: list[dict[str, object]] = ray.get(self._supervisor.info.remote())
        return info

    def env(self) -> dict[str, Any]:
        return {"ray": self._cluster}
