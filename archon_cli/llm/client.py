"""The LLM client: cache → bounded concurrency per endpoint → litellm, with retries.

litellm is imported lazily (it takes seconds) and configured for offline use: the bundled
cost map instead of a download, no telemetry, unsupported params dropped per provider.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from archon_cli.components.state import Request
from archon_cli.config.pipeline import ModelSpec
from archon_cli.errors import LLMCallError
from archon_cli.llm.cache import CachedCompletion, CompletionCache, cache_key
from archon_cli.llm.endpoints import Endpoint, Engines, resolve

RETRIES = 4  # transient failures (timeouts, 429, 5xx, a restarting engine) get this many retries
BACKOFF_S = 0.5  # first wait; doubles per retry, with jitter


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    cached: bool
    usd: float


@dataclass
class EngineCall:
    """An engine call as sent (for replaying the same requests in benchmarks)."""

    model: str
    messages: list[dict[str, str]]
    sampling: dict[str, Any]
    latency_s: float
    prompt_tokens: int
    completion_tokens: int


_litellm_lock = threading.Lock()


def import_litellm() -> Any:
    with _litellm_lock:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm

        litellm.telemetry = False
        litellm.drop_params = True
        litellm.suppress_debug_info = True
        for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "httpx"):
            logging.getLogger(name).setLevel(logging.WARNING)
        return litellm


def prewarm_litellm() -> None:
    """Import litellm in the background while engines start."""
    threading.Thread(target=import_litellm, daemon=True).start()


@dataclass
class LLMClient:
    models: dict[str, ModelSpec]
    engines: Engines
    cache: CompletionCache | None = None
    record_engine_calls: bool = False
    engine_calls: list[EngineCall] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._endpoints = {alias: resolve(spec) for alias, spec in self.models.items()}
        self._semaphores: dict[str, asyncio.Semaphore] = {}

    def endpoint(self, alias: str) -> Endpoint:
        return self._endpoints[alias]

    async def complete(self, req: Request) -> Completion:
        ep = self._endpoints[req.model]
        messages = [{"role": m.role, "content": m.content} for m in req.messages]
        sampling: dict[str, Any] = {"temperature": req.temperature, "max_tokens": req.max_tokens}
        if ep.send_seed:
            sampling["seed"] = req.sample
        key = cache_key(ep.identity, messages, sampling | {"sample": req.sample})
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                return Completion(hit.text, hit.prompt_tokens, hit.completion_tokens, 0.0, True,
                                  _usd(ep, hit.prompt_tokens, hit.completion_tokens))
        sem = self._semaphores.setdefault(ep.identity, asyncio.Semaphore(ep.max_concurrency))
        async with sem:
            text, pt, ct, latency = await self._call_with_retries(ep, messages, sampling)
        if self.cache is not None:
            self.cache.put(key, CachedCompletion(text, pt, ct))
        if self.record_engine_calls:
            self.engine_calls.append(EngineCall(req.model, messages, sampling, latency, pt, ct))
        return Completion(text, pt, ct, latency, False, _usd(ep, pt, ct))

    async def _call_with_retries(self, ep: Endpoint, messages: list[dict[str, str]],
                                 sampling: dict[str, Any]) -> tuple[str, int, int, float]:
        litellm = import_litellm()
        transient = (
            litellm.Timeout, litellm.RateLimitError, litellm.APIConnectionError,
            litellm.InternalServerError, litellm.ServiceUnavailableError,
        )
        last: Exception | None = None
        for attempt in range(RETRIES + 1):
            base = await asyncio.to_thread(self.engines.base_url, ep) if ep.gguf else ep.api_base
            kwargs: dict[str, Any] = {"model": ep.litellm_model, "messages": messages, "timeout": ep.timeout_s,
                                      "num_retries": 0, **sampling}
            if base:
                kwargs["api_base"] = base
            if ep.gguf:
                kwargs["api_key"] = "none"  # the embedded engine needs no key; litellm wants one
            elif ep.api_key_env:
                kwargs["api_key"] = os.environ.get(ep.api_key_env)
            start = time.perf_counter()
            try:
                resp = await litellm.acompletion(**kwargs)
            except transient as exc:
                last = exc
                if attempt < RETRIES:
                    await asyncio.sleep(BACKOFF_S * 2**attempt * (0.5 + random.random()))
                continue
            except Exception as exc:  # provider errors: bad request, auth... not worth retrying
                raise LLMCallError(f"{ep.litellm_model}: {type(exc).__name__}: {_short(exc)}") from None
            latency = time.perf_counter() - start
            text = resp.choices[0].message.content or ""
            usage = getattr(resp, "usage", None)
            pt = int(getattr(usage, "prompt_tokens", 0) or 0)
            ct = int(getattr(usage, "completion_tokens", 0) or 0)
            return text, pt, ct, latency
        raise LLMCallError(f"{ep.litellm_model}: failed after {RETRIES + 1} attempts: "
                           f"{type(last).__name__}: {_short(last)}")


def _usd(ep: Endpoint, prompt_tokens: int, completion_tokens: int) -> float:
    return (prompt_tokens * ep.price.input_per_mtok + completion_tokens * ep.price.output_per_mtok) / 1e6


def _short(exc: BaseException | None, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    return text[:limit] + ("…" if len(text) > limit else "")
