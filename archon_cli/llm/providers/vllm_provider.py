"""`vllm/<hf-id>`: vLLM replicas the tool starts itself (the `vllm` extra), or a running vLLM
server at `api_base`."""

from __future__ import annotations

import os
from typing import Any

from archon_cli.llm.providers import PROVIDERS
from archon_cli.llm.providers.base import RawCompletion, prewarm
from archon_cli.llm.providers.engine_calls import EngineProvider
from archon_cli.llm.providers.litellm_provider import import_litellm, litellm_complete


@PROVIDERS.register("vllm")
class VLLMProvider(EngineProvider):
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
        return await litellm_complete("hosted_vllm/" + served, messages, sampling, timeout_s=self.spec.timeout_s,
                                      api_base=self.spec.api_base, api_key=key)
