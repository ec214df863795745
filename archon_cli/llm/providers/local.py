"""`local/smollm2-135m` and `local/PATH.gguf`: the embedded llama.cpp engine."""

from __future__ import annotations

from typing import Any

from archon_cli.config.pipeline import ModelSpec
from archon_cli.llm.engines.llamacpp import DEFAULT_SLOTS, gguf_identity, resolve_gguf
from archon_cli.llm.engines.manager import EngineSource
from archon_cli.llm.providers import PROVIDERS
from archon_cli.llm.providers.base import RawCompletion
from archon_cli.llm.providers.engine_calls import EngineProvider


@PROVIDERS.register("local")
class LocalProvider(EngineProvider):
    def __init__(self, spec: ModelSpec, engines: EngineSource) -> None:
        super().__init__(spec, engines)
        self.gguf = resolve_gguf(spec.model)

    @property
    def identity(self) -> str:
        return gguf_identity(self.gguf)

    @property
    def max_concurrency(self) -> int:
        # Twice the slots of every replica: a request waiting in the engine's queue takes a slot
        # the moment it frees, while one waiting here would leave it idle for a round trip.
        return self.spec.max_concurrency or 2 * DEFAULT_SLOTS * self.spec.replicas

    async def complete(self, messages: list[dict[str, str]], sampling: dict[str, Any]) -> RawCompletion:
        # llama.cpp serves one model and ignores the name.
        return await self.engine_complete(self.gguf.stem, messages, sampling)
