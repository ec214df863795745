"""`vllm/<hf-id>`: vLLM replicas the tool starts itself (the `vllm` extra), or a running vLLM
server at `api_base`."""

from __future__ import annotations

import os
from typing import Any

from archon_cli.config.pipeline import ModelSpec
from archon_cli.llm.engines.manager import EngineSource
from archon_cli.llm.providers import PROVIDERS
from archon_cli.llm.providers.base import Provider, RawCompletion, prewarm
from archon_cli.llm.providers.engine_calls import EngineClients, engine_complete, import_openai
from archon_cli.llm.providers.litellm_provider import import_litellm, litellm_complete


@PROVIDERS.register("vllm")
class VLLMProvider(Provider):
    send_seed = True

    def __init__(self, spec: ModelSpec, engines: EngineSource) -> None:
        super().__init__(spec, engines)
        self.clients = EngineClients(spec.timeout_s)

    def prewarm(self) -> None:
        prewarm(import_litellm if self.spec.api_base else import_openai)

    async def complete(self, messages: list[dict[str, str]], sampling: dict[str, Any]) -> RawCompletion:
        served = self.spec.model.removeprefix("vllm/")  # vllm serve names the model by its id
        if self.spec.api_base is None:
            return await engine_complete(self, self.clients, served, messages, sampling)
        key = os.environ.get(self.spec.api_key_env) if self.spec.api_key_env else "none"
        return await litellm_complete("hosted_vllm/" + served, messages, sampling, timeout_s=self.spec.timeout_s,
                                      api_base=self.spec.api_base, api_key=key)
