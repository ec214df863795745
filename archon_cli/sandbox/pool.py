"""Where sandboxed runs execute: here, or as Ray tasks spread over the cluster.

A pool is a few threads that each wait on one run at a time (a run is its own process, so the
threads only wait): they call the function directly, or, once `run_on_ray()` was called in this
process (a search's trial task does), submit it as a Ray task and wait for that. Either way the
number of runs in flight is the pool's size, and the caller's event loop never blocks.

Ray tasks reserve no CPU: engine replicas may hold every CPU reservation of a small cluster, and
a reservation they could never get would hang the search. A run is short, capped by the
sandbox's own rlimits, and bounded in number by the pool.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

SHARED_WORKERS = 4  # sandbox runs in flight per process for pipeline components

_on_ray = False


def run_on_ray() -> None:
    """From now on this process's pools run each call as a Ray task (Ray must be initialised)."""
    global _on_ray
    _on_ray = True


@functools.cache
def _remote(fn: Callable[..., Any]) -> Any:
    import ray

    return ray.remote(fn).options(num_cpus=0, scheduling_strategy="SPREAD", max_retries=1)


def _call(fn: Callable[..., T], *args: Any) -> T:
    if not _on_ray:
        return fn(*args)
    import ray

    result: T = ray.get(_remote(fn).remote(*args))
    return result


class SandboxPool:
    def __init__(self, workers: int) -> None:
        self._threads = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="archon-sandbox")

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        return self._threads.submit(_call, fn, *args)

    def map(self, fn: Callable[..., T], *iterables: Any) -> list[T]:
        return [f.result() for f in [self.submit(fn, *args) for args in zip(*iterables, strict=True)]]

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self._threads.shutdown(wait=True, cancel_futures=True)


@functools.cache
def shared() -> SandboxPool:
    """The process-wide pool that pipeline components' test runs go through."""
    return SandboxPool(SHARED_WORKERS)
