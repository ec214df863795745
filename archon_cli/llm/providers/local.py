"""`local/smollm2-135m` and `local/PATH.gguf`: the embedded llama.cpp engine."""

from __future__ import annotations

import asyncio
from typing import Any

from archon_cli.config.pipeline import ModelSpec
from archon_cli.llm.engines.llamacpp import DEFAULT_SLOTS, gguf_identity, resolve_gguf
from archon_cli.llm.engines.manager import EngineSource
from archon_cli.llm.providers import PROVIDERS
from archon_cli.llm.providers.base import Provider, RawCompletion, TransientError
from archon_cli.llm.providers.litellm_provider import litellm_complete


@PROVIDERS.register("local")
class LocalProvider(Provider):
    send_seed = True

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
        return await engine_complete(self, "openai/" + self.gguf.stem, messages, sampling)


async def engine_complete(provider: Provider, litellm_model: str, messages: list[dict[str, str]],
                          sampling: dict[str, Any]) -> RawCompletion:
    """A call to an engine the tool runs: ask for a URL (starts or restarts it: blocking, so off
    the event loop), and report transient failures so a dead replica is routed around."""
    url = await asyncio.to_thread(provider.engines.url, provider.spec)
    try:
        return await litellm_complete(litellm_model, messages, sampling, timeout_s=provider.spec.timeout_s,
                                      api_base=url, api_key="none")
    except TransientError:
        provider.engines.report_failure(provider.spec, url)
        raise
