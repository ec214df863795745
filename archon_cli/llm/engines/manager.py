"""Engines the tool starts itself, behind one small interface that providers ask for URLs.

`Engines` runs them in this process's children (one per model); `cluster.RayEngines` routes to
replicas supervised as Ray actors. Both are context managers that stop what they started.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Protocol

from archon_cli.config.pipeline import ModelSpec
from archon_cli.errors import ConfigError
from archon_cli.llm.engines.llamacpp import DEFAULT_SLOTS, LlamaCppEngine, resolve_gguf
from archon_cli.llm.engines.vllm import VLLMServer


class EngineProcess(Protocol):
    url: str | None
    threads: int | None  # CPU threads of a CPU engine (recorded in env.json); None on GPUs

    def start(self) -> str: ...
    def alive(self) -> bool: ...
    def pid(self) -> int | None: ...
    def stop(self, keep_log: bool = False) -> None: ...


def make_engine(spec: ModelSpec, host: str = "127.0.0.1", threads: int | None = None) -> EngineProcess:
    """An engine for `spec`, listening on `host` (127.0.0.1 unless other nodes must reach it);
    a CPU engine uses the model's `threads`, else `threads`, else `default_threads()`."""
    if spec.model.startswith("local/"):
        return LlamaCppEngine(resolve_gguf(spec.model), slots=max(DEFAULT_SLOTS, spec.max_concurrency or 0),
                              threads=spec.threads or threads, host=host, gpu=spec.gpus_per_replica > 0)
    if spec.model.startswith("vllm/"):
        return VLLMServer(spec, host)
    raise ConfigError(f"{spec.model}: no engine to start for this model (give api_base)")


class EngineSource:
    """Where providers get the base URL (…/v1) of an engine serving a model, for one call:
    `ready_url` (at once) or else `url` (may start an engine: blocking), then `release` when
    the call is over, so that a source with several replicas can route by load."""

    def url(self, spec: ModelSpec) -> str:
        raise NotImplementedError

    def ready_url(self, spec: ModelSpec) -> str | None:
        """A URL without blocking, or None when only `url` can give one (nothing started yet)."""
        return None

    def release(self, spec: ModelSpec, url: str) -> None:
        """The call to `url` is over."""

    def report_failure(self, spec: ModelSpec, url: str) -> None:
        """A call to `url` failed in a way an engine restart could fix."""

    def describe(self) -> list[dict[str, object]]:
        return []

    def stop(self) -> None:
        pass

    def __enter__(self) -> EngineSource:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


class Engines(EngineSource):
    """One engine process per model string, started on first use, restarted if it died."""

    def __init__(self) -> None:
        self._engines: dict[str, EngineProcess] = {}
        self._lock = threading.Lock()
        self.restarts = 0

    def ready_url(self, spec: ModelSpec) -> str | None:
        if not self._lock.acquire(blocking=False):  # an engine is starting
            return None
        try:
            engine = self._engines.get(spec.model)
            return f"{engine.url}/v1" if engine is not None and engine.alive() else None
        finally:
            self._lock.release()

    def url(self, spec: ModelSpec) -> str:
        with self._lock:
            engine = self._engines.get(spec.model)
            if engine is not None and not engine.alive():
                engine.stop()
                self.restarts += 1
                engine = None
            if engine is None:
                engine = make_engine(spec)
                engine.start()
                self._engines[spec.model] = engine
            return f"{engine.url}/v1"

    def describe(self) -> list[dict[str, object]]:
        return [{"model": model, "url": e.url, "pid": e.pid(), "threads": e.threads, "restarts": self.restarts}
                for model, e in self._engines.items()]

    def stop(self) -> None:
        with self._lock:
            for engine in self._engines.values():
                engine.stop()
            self._engines.clear()
