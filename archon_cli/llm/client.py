"""The LLM client: cache → bounded concurrency per model → provider, with retries."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archon_cli.config.pipeline import ModelSpec, Price
from archon_cli.errors import LLMCallError
from archon_cli.llm.cache import CompletionCache, cache_key
from archon_cli.llm.engines.manager import EngineSource
from archon_cli.llm.providers import PROVIDERS, provider_name
from archon_cli.llm.providers.base import Provider, RawCompletion, TransientError
from archon_cli.llm.types import Completion, Request

RETRIES = 4  # transient failures (timeouts, 429, 5xx, a restarting engine) get this many retries
BACKOFF_S = 0.5  # first wait; doubles per retry, with jitter


# Set to a file path to append every engine call to it as a JSON line (any process, any node
# sharing the file system): what benchmarks replay, and a record for debugging.
CALL_LOG_ENV = "ARCHON_CALL_LOG"


@dataclass
class LLMClient:
    models: dict[str, ModelSpec]
    engines: EngineSource
    cache: CompletionCache | None = None
    call_log: Path | None = field(default_factory=lambda: Path(p) if (p := os.environ.get(CALL_LOG_ENV)) else None)

    def __post_init__(self) -> None:
        self.providers: dict[str, Provider] = {
            alias: PROVIDERS.get(provider_name(spec.model))(spec, self.engines) for alias, spec in self.models.items()
        }
        self._semaphores: dict[str, asyncio.Semaphore] = {}
        # Identical requests in flight at once share one engine call (and count as cache hits).
        self._inflight: dict[str, asyncio.Future[RawCompletion]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def prewarm(self) -> None:
        """Import every provider's client library in the background (do it before engines start)."""
        for provider in self.providers.values():
            provider.prewarm()

    def _bind_loop(self) -> None:
        """Semaphores and futures belong to one event loop; a client may serve several runs."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop, self._semaphores, self._inflight = loop, {}, {}

    async def complete(self, req: Request) -> Completion:
        self._bind_loop()
        provider = self.providers[req.model]
        price = self.models[req.model].price
        messages = [{"role": m.role, "content": m.content} for m in req.messages]
        sampling: dict[str, Any] = {"temperature": req.temperature, "max_tokens": req.max_tokens}
        if provider.send_seed:
            sampling["seed"] = req.sample
        sampling |= _optional_sampling(req, provider)
        key = cache_key(provider.identity, messages, sampling | {"sample": req.sample})
        if self.cache is not None and (hit := self.cache.get(key)) is not None:
            return _priced(hit, price, 0.0, cached=True)
        if (pending := self._inflight.get(key)) is not None:
            return _priced(await asyncio.shield(pending), price, 0.0, cached=True)
        future: asyncio.Future[RawCompletion] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        sem = self._semaphores.setdefault(provider.identity, asyncio.Semaphore(provider.max_concurrency))
        try:
            async with sem:
                start = time.perf_counter()
                raw = await self._with_retries(provider, messages, sampling)
                latency = raw.latency_s if raw.latency_s is not None else time.perf_counter() - start
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters may not exist
            raise
        finally:
            del self._inflight[key]
        future.set_result(raw)
        if self.cache is not None:
            self.cache.put(key, raw)
        if self.call_log is not None:
            _append_line(self.call_log, {"model": provider.identity, "messages": messages, "sampling": sampling,
                                         "start": time.time() - latency, "latency_s": latency,
                                         "prompt_tokens": raw.prompt_tokens,
                                         "completion_tokens": raw.completion_tokens,
                                         "cached_prompt_tokens": raw.cached_prompt_tokens})
        return _priced(raw, price, latency, cached=False)

    @staticmethod
    async def _with_retries(provider: Provider, messages: list[dict[str, str]],
                            sampling: dict[str, Any]) -> RawCompletion:
        for attempt in range(RETRIES + 1):
            try:
                return await provider.complete(messages, sampling)
            except TransientError as exc:
                if attempt == RETRIES:
                    raise LLMCallError(f"failed after {RETRIES + 1} attempts: {exc}") from None
                await asyncio.sleep(BACKOFF_S * 2**attempt * (0.5 + random.random()))
        raise AssertionError("unreachable")


def _optional_sampling(req: Request, provider: Provider) -> dict[str, Any]:
    """Knobs a request sets beyond the defaults; left out when unset, so the cache keys of
    requests that do not use them stay as they were."""
    extra: dict[str, Any] = {}
    if req.top_p is not None:
        extra["top_p"] = req.top_p
    if req.min_p is not None:
        extra["min_p"] = req.min_p
    if req.json_schema is not None and (req.require_schema or provider.supports_json_schema):
        # OpenAI's structured-output form, which llama.cpp's server, vLLM and litellm accept.
        extra["response_format"] = {"type": "json_schema",
                                    "json_schema": {"name": "reply", "schema": req.json_schema, "strict": True}}
        if req.schema_max_tokens is not None:
            extra["max_tokens"] = req.schema_max_tokens
    return extra


def _priced(raw: RawCompletion, price: Price, latency_s: float, *, cached: bool) -> Completion:
    usd = (raw.prompt_tokens * price.input_per_mtok + raw.completion_tokens * price.output_per_mtok) / 1e6
    return Completion(raw.text, raw.prompt_tokens, raw.completion_tokens, latency_s, cached, usd)


def _append_line(path: Path, record: dict[str, Any]) -> None:
    """One JSON line, appended under an exclusive lock (several processes may share the file)."""
    line = (json.dumps(record, ensure_ascii=False) + "\n").encode()
    with path.open("ab") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(line)
        fcntl.flock(f, fcntl.LOCK_UN)
