"""Calls to the engines the tool runs itself (embedded llama.cpp, vLLM replicas), through the
openai SDK: both serve OpenAI's chat-completions protocol. litellm stays the client for hosted
APIs; for our own engines it costs ~17.5 ms of client CPU per call against ~6.9 ms for the
openai SDK it wraps (measured against one llama.cpp engine), and on a CPU engine every
millisecond of client CPU is taken from the engine.

Calls stream, so their timeout watches progress instead of the clock: a call fails when its
engine has produced no token, for this call or any other, for `idle_timeout_s`. A request
queued behind other slots, or a long answer on a loaded CPU, is never cut while the engine
works; a silent, hung or trickling server fails after `idle_timeout_s` (bytes that make no
token are no progress). A stream is at most `max_tokens` tokens, so a call is bounded even
without a total deadline (`timeout_s`, when set, is enforced by the client).
"""

from __future__ import annotations

import asyncio
import functools
import json
import ssl
import time
from typing import Any

from archon_cli.config.pipeline import ModelSpec
from archon_cli.errors import LLMCallError
from archon_cli.llm.engines.manager import EngineSource
from archon_cli.llm.providers.base import CallTimeout, Provider, RawCompletion, TransientError, current_call, prewarm
from archon_cli.redact import error_text

# A server that sends more content chunks than this beyond max_tokens ignores it: not an answer.
TOKEN_SLACK = 8

NON_OPENAI_PARAMS = ("min_p",)
KEEPALIVE_EXPIRY_S = 2.0  # below the 5 s after which llama.cpp's server closes an idle connection


def import_openai() -> Any:
    import openai

    return openai


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """One per process: a new one loads the CA bundle, ~40 ms of CPU, which every new client
    (one per replica per trial on a Ray worker) would otherwise pay, taken from the engines."""
    return ssl.create_default_context()


class EngineProgress:
    """When each engine (by URL) last produced a token, for any call of this process."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}

    def tick(self, url: str) -> None:
        self._last[url] = time.monotonic()

    def idle_since(self, url: str, since: float) -> float:
        """Seconds without a token from `url`, counting from `since` at the earliest."""
        return time.monotonic() - max(since, self._last.get(url, since))


PROGRESS = EngineProgress()  # one per process: every provider calling an engine shares it


class EngineClients:
    """One openai client per engine URL, per event loop: its HTTP connections belong to the
    loop that opened them, and a client may serve several runs one after another."""

    def __init__(self, idle_timeout_s: float) -> None:
        self.idle_timeout_s = idle_timeout_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clients: dict[str, Any] = {}

    def get(self, url: str) -> Any:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop, self._clients = loop, {}
        if (client := self._clients.get(url)) is None:
            # No SDK retries: the LLM client retries transient failures itself, with backoff.
            # No read timeout: the progress watch in `openai_complete` bounds the wait instead.
            openai = import_openai()
            import httpx

            timeout = httpx.Timeout(None, connect=self.idle_timeout_s, write=self.idle_timeout_s)
            # Idle connections are dropped before the server drops them: llama.cpp's HTTP server
            # closes a keep-alive connection after 5 s idle, httpx's default expiry is also 5 s,
            # and a request sent on a connection the server is closing fails at once.
            limits = httpx.Limits(max_connections=1000, max_keepalive_connections=100,
                                  keepalive_expiry=KEEPALIVE_EXPIRY_S)
            client = openai.AsyncOpenAI(base_url=url, api_key="none", max_retries=0, timeout=timeout,
                                        http_client=openai.DefaultAsyncHttpxClient(verify=ssl_context(),
                                                                                   limits=limits))
            self._clients[url] = client
        return client


class EngineProvider(Provider):
    """A provider whose models are served by engines the tool runs (`self.engines`)."""

    send_seed = True  # llama.cpp and vLLM both honour a per-request seed
    default_timeout_s = None  # streamed and watched for progress: no wall-clock cap by default

    def __init__(self, spec: ModelSpec, engines: EngineSource) -> None:
        super().__init__(spec, engines)
        self.clients = EngineClients(spec.idle_timeout_s)

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
            return await openai_complete(self.clients.get(url), served_model, messages, sampling,
                                         idle_timeout_s=spec.idle_timeout_s, engine=url)
        except TransientError:
            await asyncio.to_thread(engines.report_failure, spec, url)
            raise
        finally:
            engines.release(spec, url)


async def openai_complete(client: Any, model: str, messages: list[dict[str, str]], sampling: dict[str, Any],
                          *, idle_timeout_s: float = 60.0, engine: str | None = None,
                          progress: EngineProgress = PROGRESS) -> RawCompletion:
    """One streamed chat completion. Fails (transient) when `engine` (default: this client's
    URL) has produced no token for `idle_timeout_s`; partial usage goes to `current_call()`."""
    engine = engine or str(client.base_url)
    start_wall, start = time.perf_counter(), time.monotonic()
    call = asyncio.ensure_future(_stream(client, model, messages, sampling, engine, progress))
    try:
        while not call.done():
            left = idle_timeout_s - progress.idle_since(engine, start)
            if left <= 0:
                call.cancel()
                raise CallTimeout(f"{model}: no token from the engine for {idle_timeout_s:g} s")
            await asyncio.wait({call}, timeout=left)
    except BaseException:
        call.cancel()
        raise
    text, usage, chunks = call.result()
    details = usage.get("prompt_tokens_details") or {}
    return RawCompletion(
        text=text,
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or chunks),  # a server without usage: its chunks
        latency_s=time.perf_counter() - start_wall,
        cached_prompt_tokens=int(details.get("cached_tokens") or 0),
    )


async def _stream(client: Any, model: str, messages: list[dict[str, str]], sampling: dict[str, Any],
                  engine: str, progress: EngineProgress) -> tuple[str, dict[str, Any], int]:
    """(text, usage) of a streamed completion; every content chunk is progress of `engine`."""
    openai = import_openai()
    # APITimeoutError is an APIConnectionError; InternalServerError covers every 5xx (a
    # llama.cpp server still loading answers 503).
    transient = (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError)
    meter = current_call()
    parts: list[str] = []
    usage: dict[str, Any] = {}
    limit = int(sampling.get("max_tokens") or 0) + TOKEN_SLACK
    # The SDK takes only OpenAI's own parameters as arguments; llama.cpp and vLLM read the rest
    # (min_p) from the body.
    extra_body = {k: sampling[k] for k in NON_OPENAI_PARAMS if k in sampling}
    sampling = {k: v for k, v in sampling.items() if k not in NON_OPENAI_PARAMS}
    if extra_body:
        sampling["extra_body"] = extra_body
    try:
        stream = await client.chat.completions.create(model=model, messages=messages, stream=True,
                                                      stream_options={"include_usage": True}, **sampling)
        async for chunk in stream:
            delta = chunk.choices[0].delta.content if chunk.choices else None
            if delta:
                parts.append(delta)
                progress.tick(engine)
                meter.completion_tokens += 1  # one token a chunk: the count until usage arrives
                if len(parts) > limit:
                    raise LLMCallError(f"{model}: the server sent more than max_tokens tokens")
            if chunk.usage is not None:
                usage = chunk.usage.model_dump()
                meter.prompt_tokens = int(usage.get("prompt_tokens") or 0)
                meter.completion_tokens = int(usage.get("completion_tokens") or 0)
    except transient as exc:
        raise TransientError(f"{model}: {type(exc).__name__}: {error_text(exc)}") from None
    except openai.APIResponseValidationError as exc:
        raise TransientError(f"{model}: malformed response: {error_text(exc)}") from None
    except openai.OpenAIError as exc:
        raise LLMCallError(f"{model}: {type(exc).__name__}: {error_text(exc)}") from None
    except (json.JSONDecodeError, AttributeError, IndexError, TypeError) as exc:  # not chat-completion chunks
        raise TransientError(f"{model}: malformed response: {type(exc).__name__}: {error_text(exc)}") from None
    if not usage and not parts:
        raise TransientError(f"{model}: the response was not a chat-completion stream")
    return "".join(parts), usage, len(parts)
