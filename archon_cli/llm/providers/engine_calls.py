"""Calls to the engines the tool runs itself (embedded llama.cpp, vLLM replicas), through the
openai SDK: both serve OpenAI's chat-completions protocol. litellm stays the client for hosted
APIs; for our own engines it costs ~17.5 ms of client CPU per call against ~6.9 ms for the
openai SDK it wraps (measured against one llama.cpp engine), and on a CPU engine every
millisecond of client CPU is taken from the engine.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
from typing import Any

from archon_cli.config.pipeline import ModelSpec
from archon_cli.errors import LLMCallError
from archon_cli.llm.engines.manager import EngineSource
from archon_cli.llm.providers.base import Provider, RawCompletion, TransientError, prewarm, short

NON_OPENAI_PARAMS = ("min_p",)


def import_openai() -> Any:
    import openai

    return openai


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """One per process: a new one loads the CA bundle, ~40 ms of CPU, which every new client
    (one per replica per trial on a Ray worker) would otherwise pay, taken from the engines."""
    return ssl.create_default_context()


class EngineClients:
    """One openai client per engine URL, per event loop: its HTTP connections belong to the
    loop that opened them, and a client may serve several runs one after another."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clients: dict[str, Any] = {}

    def get(self, url: str) -> Any:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop, self._clients = loop, {}
        if (client := self._clients.get(url)) is None:
            # No SDK retries: the LLM client retries transient failures itself, with backoff.
            openai = import_openai()
            client = openai.AsyncOpenAI(base_url=url, api_key="none", max_retries=0, timeout=self.timeout_s,
                                        http_client=openai.DefaultAsyncHttpxClient(verify=ssl_context()))
            self._clients[url] = client
        return client


class EngineProvider(Provider):
    """A provider whose models are served by engines the tool runs (`self.engines`)."""

    send_seed = True  # llama.cpp and vLLM both honour a per-request seed

    def __init__(self, spec: ModelSpec, engines: EngineSource) -> None:
        super().__init__(spec, engines)
        self.clients = EngineClients(spec.timeout_s)

    @property
    def supports_json_schema(self) -> bool:
        return True  # llama.cpp and vLLM both turn `response_format` into a grammar

    def prewarm(self) -> None:
        prewarm(lambda: (import_openai(), ssl_context()))

    async def engine_complete(self, served_model: str, messages: list[dict[str, str]],
                              sampling: dict[str, Any]) -> RawCompletion:
        """Take a URL (the engine source starts or restarts the engine when none is up: blocking,
        so off the event loop), give it back after the call, and report transient failures so a
        dead replica is routed around."""
        engines, spec = self.engines, self.spec
        url = engines.ready_url(spec)
        if url is None:
            url = await asyncio.to_thread(engines.url, spec)
        try:
            return await openai_complete(self.clients.get(url), served_model, messages, sampling)
        except TransientError:
            await asyncio.to_thread(engines.report_failure, spec, url)
            raise
        finally:
            engines.release(spec, url)


async def openai_complete(client: Any, model: str, messages: list[dict[str, str]],
                          sampling: dict[str, Any]) -> RawCompletion:
    openai = import_openai()
    # APITimeoutError is an APIConnectionError; InternalServerError covers every 5xx (a
    # llama.cpp server still loading answers 503).
    transient = (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError)
    # The SDK takes only OpenAI's own parameters as arguments; llama.cpp and vLLM read the rest
    # (min_p) from the body.
    extra_body = {k: sampling[k] for k in NON_OPENAI_PARAMS if k in sampling}
    sampling = {k: v for k, v in sampling.items() if k not in NON_OPENAI_PARAMS}
    if extra_body:
        sampling["extra_body"] = extra_body
    start = time.perf_counter()
    try:
        resp = await client.chat.completions.create(model=model, messages=messages, **sampling)
    except transient as exc:
        raise TransientError(f"{model}: {type(exc).__name__}: {short(exc)}") from None
    except openai.OpenAIError as exc:
        raise LLMCallError(f"{model}: {type(exc).__name__}: {short(exc)}") from None
    usage = resp.usage
    details = usage.prompt_tokens_details if usage else None
    return RawCompletion(
        text=resp.choices[0].message.content or "",
        prompt_tokens=int(usage.prompt_tokens if usage else 0),
        completion_tokens=int(usage.completion_tokens if usage else 0),
        latency_s=time.perf_counter() - start,
        cached_prompt_tokens=int(details.cached_tokens or 0) if details else 0,
    )
