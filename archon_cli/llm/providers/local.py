"""`local/smollm2-135m` and `local/PATH.gguf`: the embedded llama.cpp engine."""

from __future__ import annotations

import asyncio
from typing import Any

from archon_cli.config.pipeline import ModelSpec
from archon_cli.llm.engines.llamacpp import DEFAULT_SLOTS, gguf_identity, resolve_gguf
from archon_cli.llm.engines.manager import Engines
from archon_cli.llm.providers import PROVIDERS
from archon_cli.llm.providers.base import Provider, RawCompletion
from archon_cli.llm.providers.litellm_provider import litellm_complete


@PROVIDERS.register("local")
class LocalProvider(Provider):
    send_seed = True

    def __init__(self, spec: ModelSpec, engines: Engines) -> None:
        super().__init__(spec, engines)
        self.gguf = resolve_gguf(spec.model)

    @property
    def identity(self) -> str:
        return gguf_identity(self.gguf)

    @property
    def max_concurrency(self) -> int:
        return self.spec.max_concurrency or DEFAULT_SLOTS

    async def complete(self, messages: list[dict[str, str]], sampling: dict[str, Any]) -> RawCompletion:
        # Starts the engine on first use, restarts it if it died (blocking: off the event loop).
        url = await asyncio.to_thread(self.engines.llamacpp_url, self.gguf, self.max_concurrency)
        return await litellm_complete("openai/" + self.gguf.stem, messages, sampling, timeout_s=self.spec.timeout_s,
                                      api_base=url, api_key="none")
