"""`vllm/<hf-id>`: vLLM replicas the tool starts itself (the `vllm` extra), or a running vLLM
server at `api_base`."""

from __future__ import annotations

import os
from typing import Any

from archon_cli.llm.providers import PROVIDERS
from archon_cli.llm.providers.base import DEFAULT_API_TIMEOUT_S, RawCompletion, prewarm
from archon_cli.llm.providers.engine_calls import EngineProvider
from archon_cli.llm.providers.litellm_provider import endpoint_identity, import_litellm, litellm_complete


@PROVIDERS.register("vllm")
class VLLMProvider(EngineProvider):
    @property
    def identity(self) -> str:
        return endpoint_identity(self.spec.model, self.spec.api_base)

    @property
    def timeout_s(self) -> float | None:
        # A server at api_base is called like a hosted API (litellm, not streamed): same deadline.
        return self.spec.timeout_s or (DEFAULT_API_TIMEOUT_S if self.spec.api_base else None)

    def prewarm(self) -> None:
        if self.spec.api_base:
            prewarm(import_litellm)
        else:
            super().prewarm()

    async def complete(self, messages: list[dict[str, str]], sampling: dict[str, Any]) -> RawCompletion:
        served = self.spec.model.removeprefix("vllm/")  # vllm serve names the model by its id
        if self.spec.api_base is None:
            return await self.engine_complete(served, messages, sampling)
        key = os.environ.get(self.spec.api_key_env) if self.spec.api_key_env else "none"
        return await litellm_complete("hosted_vllm/" + served, messages, sampling,
                                      idle_timeout_s=self.spec.idle_timeout_s, api_base=self.spec.api_base,
                                      api_key=key)
