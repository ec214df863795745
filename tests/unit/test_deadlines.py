"""Real deadlines through the whole client (cache → retries → provider) against a fake
OpenAI-compatible server on 127.0.0.1: a hung, trickling, failing or garbage-sending endpoint
fails within `timeout_s`; a retry first looks in the cache; what was spent is counted."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from archon_cli.config.pipeline import ModelSpec
from archon_cli.errors import LLMCallError
from archon_cli.llm import client as client_module
from archon_cli.llm.cache import CompletionCache, cache_key
from archon_cli.llm.client import LLMClient
from archon_cli.llm.engines.manager import EngineSource
from archon_cli.llm.providers.base import RawCompletion
from archon_cli.llm.types import Message, Request
from tests.fake_openai import Handler, fake_openai
from tests.fakes import FakeLLM


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    from archon_cli.llm.providers.litellm_provider import import_litellm

    import_litellm()  # seconds on a loaded machine: not part of any deadline measured here
    with fake_openai() as base:
        yield base


class FixedEngine(EngineSource):
    """An "engine the tool runs" that is the fake server (vllm/ models without api_base)."""

    def __init__(self, url: str) -> None:
        self._url = url

    def url(self, spec: ModelSpec) -> str:
        return self._url

    def ready_url(self, spec: ModelSpec) -> str | None:
        return self._url


def ask(client: LLMClient, alias: str = "m", text: str = "6*7?") -> Any:
    return asyncio.run(client.complete(Request(alias, (Message("user", text),), 0.0, 32)))


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_SERVER_KEY", "fake-server-key-0123")


def hosted(url: str, model: str, **extra: Any) -> dict[str, ModelSpec]:
    return {"m": ModelSpec(model=f"openai/{model}", api_base=url, api_key_env="FAKE_SERVER_KEY", **extra)}


@pytest.mark.parametrize("model", ["hang", "trickle"])
def test_hosted_endpoint_that_hangs_or_trickles_fails_within_timeout_s(url: str, model: str) -> None:
    """`trickle` sends a byte every 0.2 s: httpx's read timeout never fires, the deadline does."""
    client = LLMClient(hosted(url, model, timeout_s=3, idle_timeout_s=1), EngineSource())
    start = time.monotonic()
    with pytest.raises(LLMCallError, match=r"no answer within timeout_s=3 s|failed after"):
        ask(client)
    assert time.monotonic() - start < 3 + 2  # the deadline, plus a little for the error path
    assert client.failed_attempts.get("timeout", 0) >= 1


def test_engine_that_trickles_fails_after_idle_timeout_and_retries_are_bounded(url: str,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "BACKOFF_S", 0.01)
    spec = {"m": ModelSpec(model="vllm/trickle", idle_timeout_s=0.5)}
    client = LLMClient(spec, FixedEngine(url))
    start = time.monotonic()
    with pytest.raises(LLMCallError, match=r"failed after 5 attempts: .*no token from the engine for 0\.5 s"):
        ask(client)
    assert time.monotonic() - start < 5 * 0.5 + 3
    assert client.failed_attempts == {"timeout": 5}


def test_engine_with_a_total_deadline_set_by_the_user(url: str) -> None:
    client = LLMClient({"m": ModelSpec(model="vllm/hang", idle_timeout_s=30, timeout_s=1.5)}, FixedEngine(url))
    start = time.monotonic()
    with pytest.raises(LLMCallError, match=r"no answer within timeout_s=1\.5 s"):
        ask(client)
    assert time.monotonic() - start < 3
    assert client.failed_attempts == {"timeout": 1}


@pytest.mark.parametrize(("model", "error"), [("500", r"failed after 5 attempts"),
                                              ("garbage", r"failed after 5 attempts: .*Expecting value")])
def test_server_errors_and_garbage_fail_clearly(url: str, model: str, error: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "BACKOFF_S", 0.01)
    client = LLMClient(hosted(url, model, timeout_s=20), EngineSource())
    with pytest.raises(LLMCallError, match=error):
        ask(client)


def test_default_deadlines_suit_hosted_apis() -> None:
    from archon_cli.llm.providers import PROVIDERS, provider_name

    def provider(model: str, **extra: Any) -> Any:
        spec = ModelSpec(model=model, **extra)
        return PROVIDERS.get(provider_name(model))(spec, EngineSource())

    assert provider("openai/gpt-4o-mini").timeout_s == 300
    assert provider("vllm/org/m", api_base="http://h:8000/v1").timeout_s == 300
    assert provider("vllm/org/m").timeout_s is None  # streamed, watched for progress
    assert provider("openai/gpt-4o-mini", timeout_s=20).timeout_s == 20


def test_a_long_streamed_answer_is_not_cut_by_the_idle_timeout(url: str) -> None:
    client = LLMClient({"m": ModelSpec(model="vllm/slow", idle_timeout_s=0.6)}, FixedEngine(url))
    done = ask(client)
    assert done.completion_tokens == 20 and client.failed_attempts == {}
    assert client.spent.calls == 1 and client.spent.completion_tokens == 20


def test_a_retry_first_looks_in_the_cache(tmp_path: Path, fake_llm: type[FakeLLM],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process stored the answer while this one waited to retry: it is used, not recomputed."""
    cache = CompletionCache(tmp_path / "c.db")
    client = LLMClient({"m": ModelSpec(model="fake/x")}, EngineSource(), cache)
    provider = client.providers["m"]
    key = cache_key(provider.identity, [{"role": "user", "content": "q"}],
                    {"temperature": 0.0, "max_tokens": 32, "seed": 0, "sample": 0})
    fake_llm.fail_next = 1

    async def sleep_while_other_process_stores(_s: float) -> None:
        CompletionCache(tmp_path / "c.db").put(key, RawCompletion("from elsewhere", 3, 2))

    monkeypatch.setattr(client_module.asyncio, "sleep", sleep_while_other_process_stores)
    done = ask(client, text="q")
    assert (done.text, done.cached) == ("from elsewhere", True)
    assert fake_llm.calls == []  # the engine was not asked again
    assert client.spent.calls == 1 and client.failed_attempts == {"error": 1}


def test_spent_counts_a_call_whose_task_was_cancelled(url: str) -> None:
    """A trial cut short (Ctrl-C, wall budget) cancels its calls; the tokens the engine had
    produced so far are still in `client.spent`."""
    client = LLMClient({"m": ModelSpec(model="vllm/slow", price={"output_per_mtok": 1e4})}, FixedEngine(url))

    async def go() -> None:
        task = asyncio.create_task(client.complete(Request("m", (Message("user", "x"),), 0.0, 32)))
        await asyncio.sleep(1.0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(go())
    assert client.failed_attempts == {"cancelled": 1}
    assert client.spent.calls == 1 and 3 <= client.spent.completion_tokens < 20
    assert client.spent.usd == pytest.approx(client.spent.completion_tokens * 1e4 / 1e6)


def test_cache_identity_includes_the_endpoint(url: str) -> None:
    """Two OpenAI-compatible servers behind one model string are two cache entries."""
    a = LLMClient(hosted(url, "ok"), EngineSource())
    b = LLMClient({"m": ModelSpec(model="openai/ok", api_base="http://other:8000/v1")}, EngineSource())
    plain = LLMClient({"m": ModelSpec(model="openai/ok")}, EngineSource())
    identities = {c.providers["m"].identity for c in (a, b, plain)}
    assert identities == {f"openai/ok@{url}", "openai/ok@http://other:8000/v1", "openai/ok"}
    vllm = LLMClient({"m": ModelSpec(model="vllm/org/m", api_base="http://h:1/v1/")}, EngineSource())
    assert vllm.providers["m"].identity == "vllm/org/m@http://h:1/v1"


def test_two_endpoints_do_not_share_answers(tmp_path: Path, url: str) -> None:
    cache = CompletionCache(tmp_path / "c.db")
    first = ask(LLMClient(hosted(url, "ok"), EngineSource(), cache))
    assert not first.cached
    before = len(Handler.bodies)
    with fake_openai() as other:
        second = ask(LLMClient(hosted(other, "ok"), EngineSource(), cache))
    assert not second.cached and len(Handler.bodies) == before + 1


def test_metered_block_counts_its_own_calls_even_when_cancelled(url: str) -> None:
    """What a search loop needs for a trial cut short: the meter of the trial's block."""
    from archon_cli.llm.client import metered

    client = LLMClient({"m": ModelSpec(model="vllm/slow")}, FixedEngine(url))

    async def trial(text: str) -> None:
        with metered() as usage:
            meters.append(usage)
            await asyncio.gather(*(client.complete(Request("m", (Message("user", f"{text}{i}"),), 0.0, 32))
                                   for i in range(2)))

    meters: list[Any] = []

    async def go() -> None:
        await trial("a")
        cut = asyncio.create_task(trial("b"))
        await asyncio.sleep(0.8)  # a few of its 20 tokens are out
        cut.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cut

    asyncio.run(go())
    done, cancelled = meters
    assert (done.calls, done.completion_tokens) == (2, 40)
    assert cancelled.calls == 2 and 0 < cancelled.completion_tokens < 40
    assert client.spent.calls == 4
    assert client.spent.completion_tokens == done.completion_tokens + cancelled.completion_tokens
