"""Runs chat requests through the served pipelines, all on one event loop and one LLM client.

Each request is one `Pipeline.arun([example], client)` task on the server's loop. The client is
shared, so the layer requests of concurrent requests go out together, bounded per endpoint by
its semaphores, exactly as the examples of an `archon eval` batch do; its cache and its sharing
of identical in-flight calls apply across requests too.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, TypeVar

from archon_cli.llm.client import LLMClient
from archon_cli.pipeline import ExampleResult, Pipeline
from archon_cli.serve.api_errors import APIError
from archon_cli.serve.metrics import Metrics
from archon_cli.serve.protocol import ChatCompletionRequest
from archon_cli.serve.sampling import with_request_sampling
from archon_cli.serve.sources import Served

T = TypeVar("T")
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]

_PIPELINE_VARIANTS = 64  # built pipelines kept per (model, temperature, max_tokens)


@dataclass(frozen=True)
class Limits:
    max_queue: int = 64  # requests admitted at once (running or waiting for an engine); more get 429
    max_body_bytes: int = 1 << 20
    max_messages: int = 256


class ClientDisconnected(Exception):
    """The client went away before its answer was ready; its work was cancelled."""


class ChatService:
    def __init__(self, served: list[Served], client: LLMClient, limits: Limits, metrics: Metrics | None = None) -> None:
        self.served = {s.name: s for s in served}
        self.client = client
        self.limits = limits
        self.metrics = metrics or Metrics()
        self.started = int(time.time())
        self._pipelines: dict[tuple[str, float | None, int | None], Pipeline] = {}
        self._recent_s: deque[float] = deque(maxlen=64)

    def check_model(self, name: str) -> None:
        if name not in self.served:
            raise APIError(404, f"The model '{name}' does not exist (served: {', '.join(sorted(self.served))})",
                           kind="unknown_model", param="model", code="model_not_found")

    def _pipeline(self, req: ChatCompletionRequest) -> Pipeline:
        key = (req.model, req.temperature, req.answer_max_tokens)
        if (pipe := self._pipelines.get(key)) is None:
            if len(self._pipelines) >= _PIPELINE_VARIANTS:
                self._pipelines.clear()
            spec = with_request_sampling(self.served[req.model].spec, req.temperature, req.answer_max_tokens)
            pipe = self._pipelines[key] = Pipeline(spec)
        return pipe

    @contextmanager
    def admitted(self) -> Iterator[None]:
        """A place in the bounded queue for the duration of a request, or a 429."""
        if self.metrics.in_flight >= self.limits.max_queue:
            raise APIError(429, f"the server is at its limit of {self.limits.max_queue} requests in flight; "
                           "retry later", kind="queue_full", type="rate_limit_error", code="queue_full",
                           headers={"Retry-After": str(self.retry_after_s())})
        self.metrics.in_flight += 1
        try:
            yield
        finally:
            self.metrics.in_flight -= 1

    def retry_after_s(self) -> int:
        """About one request's latency: by then a place has likely freed."""
        return max(1, math.ceil(statistics.median(self._recent_s))) if self._recent_s else 1

    async def complete(self, req: ChatCompletionRequest, request_id: str) -> ExampleResult:
        self.check_model(req.model)
        start = time.perf_counter()
        [result] = await self._pipeline(req).arun([req.to_input(request_id)], self.client)
        self._count_calls(req.model, result)
        if result.output is None:
            raise APIError(502, f"the pipeline failed: {result.error}", kind="pipeline_failed", type="server_error",
                           code="pipeline_failed")
        elapsed = time.perf_counter() - start
        self._recent_s.append(elapsed)
        self.metrics.observe_latency(elapsed, model=req.model)
        return result

    def _count_calls(self, model: str, result: ExampleResult) -> None:
        u, m = result.usage, self.metrics
        m.inc("archon_serve_llm_calls_total", u.calls, model=model)
        m.inc("archon_serve_engine_calls_total", u.engine_calls, model=model)
        m.inc("archon_serve_cache_hits_total", u.cache_hits, model=model)
        m.inc("archon_serve_prompt_tokens_total", u.prompt_tokens, model=model)
        m.inc("archon_serve_completion_tokens_total", u.completion_tokens, model=model)


async def until_disconnect(receive: Receive) -> None:
    """Returns when the client closes the connection. Only call once the body has been read: the
    server's next message is then the disconnect."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def unless_disconnected(work: Awaitable[T], receive: Receive) -> T:
    """`work`, cancelled (and ClientDisconnected raised) if the client goes away first."""
    task = asyncio.ensure_future(work)
    watch = asyncio.ensure_future(until_disconnect(receive))
    try:
        await asyncio.wait({task, watch}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watch.cancel()
        if not task.done():
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
    if task.cancelled():
        raise ClientDisconnected
    return task.result()
