"""The LLM client: cache → bounded concurrency per model → provider, with retries.

Every call has a total deadline (the provider's `timeout_s`: all attempts and backoff, from the
moment the request leaves the client's queue) on top of the provider's own idle timeout, so a
silent or trickling endpoint fails within it. Before each retry the cache is read again:
another process may have stored the answer meanwhile. Only TransientError is retried (a wrong
key, a denied permission, an unknown model or a bad request come as LLMCallError and fail at
once); a server's `Retry-After` sets the wait when it is longer than the backoff, and a wait
past the deadline fails the call at once. `spent` counts what the engines were
asked to do, attempts cut short included, so budgets can charge work that was interrupted.
"""

from __future__ import annotations

import asyncio
import contextvars
import fcntl
import json
import os
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archon_cli.config.pipeline import ModelSpec, Price
from archon_cli.errors import LLMCallError
from archon_cli.llm.cache import CompletionCache, cache_key
from archon_cli.llm.engines.manager import EngineSource
from archon_cli.llm.providers import PROVIDERS, provider_name
from archon_cli.llm.providers.base import CallTimeout, Provider, RawCompletion, TransientError, start_call
from archon_cli.llm.types import Completion, Request
from archon_cli.llm.usage import Usage
from archon_cli.redact import error_text, register_key_env

RETRIES = 4  # transient failures (timeouts, 429, 5xx, a restarting engine) get this many retries
BACKOFF_S = 0.5  # first wait; doubles per retry, with jitter (at most ~12 s in all)
# The longest `Retry-After` honoured when a call has no total deadline (engines the tool runs).
MAX_RETRY_AFTER_S = 120.0


# The meter of the innermost `metered()` block of this task (tasks it starts inherit it).
_METER: contextvars.ContextVar[Usage | None] = contextvars.ContextVar("archon_spend_meter", default=None)


@contextmanager
def metered() -> Iterator[Usage]:
    """What the engines are asked to do by the calls made in this block and in the tasks it
    starts (a trial): calls = attempts, tokens and USD, attempts cut short included. Read it
    after the block ends however it ended (finished, failed, cancelled by a budget or Ctrl-C)."""
    usage = Usage()
    token = _METER.set(usage)
    try:
        yield usage
    finally:
        _METER.reset(token)


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
        for spec in self.models.values():
            register_key_env(spec.api_key_env)
        # Every engine attempt, finished or cut short (then with the tokens it had produced, as
        # far as a streaming provider saw them): `calls` = attempts. Updated as each attempt
        # ends, so it holds what a task spent even after that task was cancelled.
        self.spent = Usage()
        # Attempts that did not finish, by outcome: "timeout" (idle or total deadline),
        # "cancelled" (the caller gave up: Ctrl-C, a trial's budget), "error" (5xx, refused...).
        self.failed_attempts: dict[str, int] = {}

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
        while (pending := self._inflight.get(key)) is not None:
            try:
                return _priced(await asyncio.shield(pending), price, 0.0, cached=True)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not pending.cancelled() or (task is not None and task.cancelling()):
                    raise  # this caller is cancelled
                # The caller that made the call was cancelled (a server's client went away): make it here.
        future: asyncio.Future[RawCompletion] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        sem = self._semaphores.setdefault(provider.identity, asyncio.Semaphore(provider.max_concurrency))
        try:
            async with sem:
                start = time.perf_counter()
                raw, stored = await self._with_retries(provider, key, messages, sampling, price)
                latency = raw.latency_s if raw.latency_s is not None else time.perf_counter() - start
        except asyncio.CancelledError:
            future.cancel()  # waiters make the call themselves
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters may not exist
            raise
        finally:
            del self._inflight[key]
        future.set_result(raw)
        if stored:  # another process stored it while this one waited to retry
            return _priced(raw, price, 0.0, cached=True)
        if self.cache is not None:
            self.cache.put(key, raw)
        if self.call_log is not None:
            _append_line(self.call_log, {"model": provider.identity, "messages": messages, "sampling": sampling,
                                         "start": time.time() - latency, "latency_s": latency,
                                         "prompt_tokens": raw.prompt_tokens,
                                         "completion_tokens": raw.completion_tokens,
                                         "cached_prompt_tokens": raw.cached_prompt_tokens})
        return _priced(raw, price, latency, cached=False)

    async def _with_retries(self, provider: Provider, key: str, messages: list[dict[str, str]],
                            sampling: dict[str, Any], price: Price) -> tuple[RawCompletion, bool]:
        """(completion, whether it came from the cache), within the provider's total deadline."""
        limit = provider.timeout_s
        last = "no attempt finished"
        deadline = asyncio.timeout(limit)
        try:
            async with deadline:
                for attempt in range(RETRIES + 1):
                    if attempt and self.cache is not None and (hit := self.cache.get(key)) is not None:
                        return hit, True
                    try:
                        return await self._attempt(provider, messages, sampling, price, deadline.expired), False
                    except TransientError as exc:
                        last = str(exc)
                        if attempt == RETRIES:
                            raise LLMCallError(f"failed after {RETRIES + 1} attempts: {exc}") from None
                        await _sleep(_retry_wait(attempt, exc, deadline.when(), limit))
        except TimeoutError:
            if not deadline.expired():
                raise
            raise LLMCallError(f"{provider.spec.model}: no answer within timeout_s={limit:g} s "
                               f"(last failure: {last})") from None
        raise AssertionError("unreachable")

    async def _attempt(self, provider: Provider, messages: list[dict[str, str]], sampling: dict[str, Any],
                       price: Price, deadline_expired: Any) -> RawCompletion:
        """One provider call; whatever it spent is added to `spent`, however it ends."""
        meter = start_call()
        start = time.perf_counter()
        live = _METER.get()
        if live is not None:
            live.in_flight += 1
        try:
            raw = await provider.complete(messages, sampling)
        except BaseException as exc:
            if isinstance(exc, CallTimeout) or deadline_expired():  # a library may wrap the cancellation
                outcome = "timeout"
            elif isinstance(exc, asyncio.CancelledError):
                outcome = "cancelled"
            else:
                outcome = "error"
            self.failed_attempts[outcome] = self.failed_attempts.get(outcome, 0) + 1
            latency = time.perf_counter() - start
            self._spend(meter.prompt_tokens, meter.completion_tokens, price, latency)
            if self.call_log is not None:
                _append_line(self.call_log, {"model": provider.identity, "outcome": outcome,
                                             "start": time.time() - latency, "latency_s": latency,
                                             "prompt_tokens": meter.prompt_tokens,
                                             "completion_tokens": meter.completion_tokens,
                                             "error": error_text(exc) or type(exc).__name__})
            raise
        finally:
            if live is not None:
                live.in_flight -= 1
        self._spend(raw.prompt_tokens, raw.completion_tokens, price,
                    raw.latency_s if raw.latency_s is not None else time.perf_counter() - start)
        return raw

    def _spend(self, prompt_tokens: int, completion_tokens: int, price: Price, latency_s: float) -> None:
        usd = (prompt_tokens * price.input_per_mtok + completion_tokens * price.output_per_mtok) / 1e6
        for spent in (self.spent, _METER.get()):
            if spent is not None:
                spent.calls += 1
                spent.prompt_tokens += prompt_tokens
                spent.completion_tokens += completion_tokens
                spent.usd += usd
                spent.latency_s += latency_s


def _retry_wait(attempt: int, exc: TransientError, deadline_at: float | None, limit: float | None) -> float:
    """The backoff before retry `attempt + 1`: the server's `Retry-After` when it asked for
    longer. A wait that would end past the call's total deadline fails the call now instead
    (its attempts so far are spent; sleeping into the deadline would only add the wait)."""
    wait = BACKOFF_S * 2**attempt * (0.5 + random.random())
    if exc.retry_after_s is None or exc.retry_after_s <= wait:
        return wait
    left = MAX_RETRY_AFTER_S if deadline_at is None else deadline_at - asyncio.get_running_loop().time()
    if exc.retry_after_s >= left:
        bound = "the longest honoured" if deadline_at is None else f"what is left of timeout_s={limit:g} s"
        raise LLMCallError(f"the server asks to wait {exc.retry_after_s:g} s before retrying (Retry-After), "
                           f"more than {bound} ({left:.1f} s): {exc}") from None
    return exc.retry_after_s


async def _sleep(seconds: float) -> None:
    """The backoff's wait (tests replace it to read the waits without sleeping)."""
    await asyncio.sleep(seconds)


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
