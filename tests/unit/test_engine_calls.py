"""Calls to engines the tool runs (openai SDK, streamed): answers, which failures are retried,
and a timeout that watches the engine's progress instead of the clock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from archon_cli.errors import LLMCallError
from archon_cli.llm.providers.base import CallTimeout, RawCompletion, TransientError, start_call
from archon_cli.llm.providers.engine_calls import EngineClients, EngineProgress, openai_complete
from tests.fake_openai import Handler, fake_openai


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with fake_openai() as base:
        yield base


def call(url: str, model: str, idle_timeout_s: float = 10, max_tokens: int = 32) -> RawCompletion:
    async def go() -> RawCompletion:
        client = EngineClients(idle_timeout_s=idle_timeout_s).get(url)
        return await openai_complete(client, model, [{"role": "user", "content": "6*7?"}],
                                     {"temperature": 0.0, "max_tokens": max_tokens, "seed": 3},
                                     idle_timeout_s=idle_timeout_s, progress=EngineProgress())
    return asyncio.run(go())


def test_answer_usage_and_sampling_sent(url: str) -> None:
    done = call(url, "ok", max_tokens=4)
    assert (done.text, done.prompt_tokens, done.completion_tokens, done.cached_prompt_tokens) == ("42", 7, 2, 5)
    sent = Handler.bodies[-1]
    assert {k: sent[k] for k in ("temperature", "max_tokens", "seed", "stream")} == \
        {"temperature": 0.0, "max_tokens": 4, "seed": 3, "stream": True}
    assert sent["stream_options"] == {"include_usage": True}


def test_min_p_top_p_and_schema_reach_the_body(url: str) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "reply", "schema": {"type": "object"}, "strict": True}}

    async def go() -> RawCompletion:
        client = EngineClients(idle_timeout_s=10).get(url)
        return await openai_complete(client, "ok", [{"role": "user", "content": "6*7?"}],
                                     {"temperature": 0.7, "max_tokens": 4, "top_p": 0.9, "min_p": 0.05,
                                      "response_format": fmt}, idle_timeout_s=10, progress=EngineProgress())

    asyncio.run(go())
    body = Handler.bodies[-1]
    assert (body["top_p"], body["min_p"], body["response_format"]) == (0.9, 0.05, fmt)


@pytest.mark.parametrize("status", ["503", "500", "429"])
def test_overload_and_server_errors_are_transient(url: str, status: str) -> None:
    with pytest.raises(TransientError):
        call(url, status)


@pytest.mark.parametrize("status", ["400", "404"])
def test_bad_requests_are_not_retried(url: str, status: str) -> None:
    with pytest.raises(LLMCallError):
        call(url, status)


def test_a_long_answer_still_producing_tokens_is_never_cut(url: str) -> None:
    """20 tokens 0.1 s apart take 2 s, twice the idle timeout: a clock-based timeout would cut
    it (and a retry would start it again from zero: the livelock of issue 16)."""
    start = time.monotonic()
    done = call(url, "slow", idle_timeout_s=1.0)
    assert done.completion_tokens == 20 and done.text.startswith("t0 t1")
    assert time.monotonic() - start >= 2.0


@pytest.mark.parametrize("model", ["hang", "trickle"])
def test_silent_or_trickling_engine_fails_after_the_idle_timeout(url: str, model: str) -> None:
    """`trickle` sends a byte every 0.2 s, which is no token: a byte-level read timeout would wait forever."""
    start = time.monotonic()
    with pytest.raises(CallTimeout, match="no token from the engine for 1 s"):
        call(url, model, idle_timeout_s=1.0)
    assert time.monotonic() - start < 4.0


def test_garbage_body_is_a_transient_error(url: str) -> None:
    with pytest.raises(TransientError, match=r"not a chat-completion stream|malformed"):
        call(url, "garbage")


def test_a_queued_call_waits_while_the_engine_serves_others(url: str) -> None:
    """A request waiting behind busy slots sees no token of its own; the engine's progress on
    other calls keeps it alive, so it is not cancelled and sent again to the back of the queue."""
    progress = EngineProgress()

    async def go() -> None:
        client = EngineClients(idle_timeout_s=0.5).get(url)
        stop = asyncio.Event()

        async def other_calls_progress() -> None:  # another call's tokens, every 0.1 s
            while not stop.is_set():
                progress.tick(url)
                await asyncio.sleep(0.1)

        ticker = asyncio.create_task(other_calls_progress())
        waiting = asyncio.create_task(openai_complete(client, "hang", [{"role": "user", "content": "x"}],
                                                      {"max_tokens": 4}, idle_timeout_s=0.5, engine=url,
                                                      progress=progress))
        await asyncio.sleep(1.5)
        assert not waiting.done()  # three idle timeouts long, still waiting
        stop.set()
        await ticker
        with pytest.raises(CallTimeout):
            await asyncio.wait_for(waiting, 3)

    asyncio.run(go())


def test_partial_tokens_of_a_cancelled_stream_are_metered(url: str) -> None:
    async def go() -> int:
        meter = start_call()
        client = EngineClients(idle_timeout_s=5).get(url)
        task = asyncio.create_task(openai_complete(client, "slow", [{"role": "user", "content": "x"}],
                                                   {"max_tokens": 32}, progress=EngineProgress()))
        await asyncio.sleep(1.0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return meter.completion_tokens

    # the task copies the context: its meter is the one set here
    produced = asyncio.run(go())
    assert 3 <= produced < 20


def test_new_clients_reuse_one_ssl_context(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading the CA bundle costs ~40 ms of CPU; a Ray worker makes clients for every trial."""
    import ssl

    from archon_cli.llm.providers import engine_calls

    made: list[object] = []
    real = ssl.create_default_context
    monkeypatch.setattr(ssl, "create_default_context", lambda *a, **k: made.append(1) or real(*a, **k))
    engine_calls.ssl_context.cache_clear()
    clients = EngineClients(idle_timeout_s=10)

    async def per_trial() -> None:  # a new event loop: new clients
        clients.get(url), clients.get(url + "/other")

    asyncio.run(per_trial())
    asyncio.run(per_trial())
    assert len(made) == 1


def test_unreachable_engine_is_transient() -> None:
    with pytest.raises(TransientError):
        call("http://127.0.0.1:9/v1", "ok")  # discard port: nothing listens
