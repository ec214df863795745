"""Owns the engine processes of one command; a context manager that stops them all."""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType

from archon_cli.llm.engines.llamacpp import DEFAULT_SLOTS, LlamaCppEngine


class Engines:
    def __init__(self) -> None:
        self._llamacpp: dict[Path, LlamaCppEngine] = {}
        self._lock = threading.Lock()
        self.restarts = 0

    def llamacpp_url(self, gguf: Path, concurrency: int) -> str:
        """Base URL of the engine serving `gguf`; starts it, or restarts it if it died."""
        with self._lock:
            engine = self._llamacpp.get(gguf)
            if engine is not None and not engine.alive():
                engine.stop()
                self.restarts += 1
                engine = None
            if engine is None:
                engine = LlamaCppEngine(gguf, slots=max(DEFAULT_SLOTS, concurrency))
                engine.start()
                self._llamacpp[gguf] = engine
            return f"{engine.url}/v1"

    def describe(self) -> list[dict[str, object]]:
        return [{"engine": "llama.cpp", "gguf": str(e.gguf), "slots": e.slots, "url": e.url}
                for e in self._llamacpp.values()]

    def stop(self) -> None:
        with self._lock:
            for engine in self._llamacpp.values():
                engine.stop()
            self._llamacpp.clear()

    def __enter__(self) -> Engines:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
