"""Where trials run: the `TrialExecutor` interface the search loop drives, and the in-process one.

Lifecycle (the loop is the only caller, from one thread):
1. `with executor:` starts what it needs (engines start lazily, on a trial's first call).
2. `submit(job)` while `free_slots() > 0`; the job runs concurrently with the others.
3. `wait(timeout)` returns the trials that finished meanwhile (possibly none) as `Finished`;
   `progress()` says what each running trial has done so far.
4. `cancel_all()` stops every running trial and returns their last progress (the loop records
   them as interrupted, with what they spent, and enqueues them again).
5. Leaving the `with` stops the engines. `engines()` and `env()` describe what ran, for env.json.
A third executor (a table lookup for the search-quality benchmark, say) implements these six
methods and nothing else.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import traceback
from abc import ABC, abstractmethod
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from archon_cli.config.pipeline import ModelSpec
from archon_cli.errors import StorageError
from archon_cli.llm.session import open_client
from archon_cli.redact import error_text, redact
from archon_cli.search.objective import TrialJob, TrialOutcome, TrialProgress, run_trial

CANCEL_WAIT_S = 10.0  # cancelled trials unwind their awaits at once; this bounds a stuck one


@dataclass(frozen=True)
class Finished:
    job: TrialJob
    outcome: TrialOutcome
    node: str | None = None  # where it ran, when that is worth recording (Ray)


class TrialExecutor(ABC):
    slots: int

    @abstractmethod
    def submit(self, job: TrialJob) -> None: ...

    @abstractmethod
    def wait(self, timeout: float) -> list[Finished]: ...

    @abstractmethod
    def progress(self) -> dict[int, TrialProgress]: ...

    @abstractmethod
    def cancel_all(self) -> list[TrialProgress]: ...

    def running(self) -> int:
        return len(self.progress())

    def free_slots(self) -> int:
        return self.slots - self.running()

    def engines(self) -> list[dict[str, object]]:
        return []

    def env(self) -> dict[str, Any]:
        return {}

    def __enter__(self) -> TrialExecutor:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.cancel_all()


def failed(exc: BaseException) -> TrialOutcome:
    """A trial whose runner itself broke (not the pipeline): it fails alone."""
    return TrialOutcome("fail", f"{type(exc).__name__}: {error_text(exc)}",
                        traceback=redact("".join(traceback.format_exception(exc))))


class LocalExecutor(TrialExecutor):
    """Trials as asyncio tasks on one event loop (in a thread of its own) sharing one LLM client,
    so `slots` trials run at once in this process and their calls share the engines' slots."""

    def __init__(self, models: dict[str, ModelSpec], *, slots: int, use_cache: bool,
                 cache_path: Path | None) -> None:
        self.slots = slots
        self._models, self._use_cache, self._cache_path = models, use_cache, cache_path
        self._stack = ExitStack()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="archon-trials", daemon=True)
        self._running: dict[int, tuple[TrialJob, concurrent.futures.Future[TrialOutcome]]] = {}
        self._progress: dict[int, TrialProgress] = {}
        self._lock = threading.Lock()  # progress is written on the loop's thread, read on the caller's

    def __enter__(self) -> LocalExecutor:
        self._client = self._stack.enter_context(
            open_client(self._models, use_cache=self._use_cache, cache_path=self._cache_path))
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.cancel_all()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=CANCEL_WAIT_S)
        if not self._thread.is_alive():
            self._loop.close()
        self._stack.close()

    def _report(self, progress: TrialProgress) -> None:
        with self._lock:
            self._progress[progress.number] = progress

    def submit(self, job: TrialJob) -> None:
        with self._lock:
            self._progress[job.number] = TrialProgress(job.number, len(job.examples))
        future = asyncio.run_coroutine_threadsafe(run_trial(job, self._client, self._report), self._loop)
        self._running[job.number] = (job, future)

    def wait(self, timeout: float) -> list[Finished]:
        futures = [future for _, future in self._running.values()]
        if futures:
            concurrent.futures.wait(futures, timeout=timeout, return_when=concurrent.futures.FIRST_COMPLETED)
        finished = []
        for number, (job, future) in list(self._running.items()):
            if future.done():
                del self._running[number]
                with self._lock:
                    self._progress.pop(number, None)
                exc = future.exception()
                if isinstance(exc, StorageError):
                    raise exc  # a full disk stops the search, not one trial
                finished.append(Finished(job, failed(exc) if exc is not None else future.result()))
        return finished

    def running(self) -> int:
        return len(self._running)

    def progress(self) -> dict[int, TrialProgress]:
        with self._lock:
            return {n: p for n, p in self._progress.items() if n in self._running}

    def cancel_all(self) -> list[TrialProgress]:
        if not self._running:
            return []
        cut = list(self.progress().values())

        async def cancel() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=CANCEL_WAIT_S)

        try:
            asyncio.run_coroutine_threadsafe(cancel(), self._loop).result(timeout=CANCEL_WAIT_S + 5)
        except concurrent.futures.TimeoutError:
            pass  # a trial stuck outside an await; the daemon thread is left behind at exit
        self._running.clear()
        with self._lock:
            self._progress.clear()
        return cut

    def engines(self) -> list[dict[str, object]]:
        return self._client.engines.describe()
