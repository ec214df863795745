"""Identical calls in flight share one engine call; when its owner is cancelled, the others go on."""

from __future__ import annotations

import asyncio

from archon_cli.config.pipeline import ModelSpec
from archon_cli.llm.client import LLMClient
from archon_cli.llm.engines.manager import Engines
from archon_cli.llm.types import Message, Request
from tests.fakes import FakeLLM

REQ = Request("m", (Message("user", "same question"),), 0.0, 8)


def test_waiter_makes_the_call_when_the_owner_is_cancelled(fake_llm: type[FakeLLM]) -> None:
    fake_llm.delay_s = 0.3
    client = LLMClient({"m": ModelSpec(model="fake/x")}, Engines())

    async def scenario() -> tuple[bool, str]:
        owner = asyncio.create_task(client.complete(REQ))
        await asyncio.sleep(0.05)
        waiter = asyncio.create_task(client.complete(REQ))
        await asyncio.sleep(0.05)
        owner.cancel()
        done = await waiter
        return owner.cancelled(), done.text

    owner_cancelled, text = asyncio.run(scenario())
    assert owner_cancelled
    assert text.startswith("answer 1:")
    assert fake_llm.cancelled == 1 and len(fake_llm.calls) == 1


def test_waiters_share_one_call(fake_llm: type[FakeLLM]) -> None:
    fake_llm.delay_s = 0.1
    client = LLMClient({"m": ModelSpec(model="fake/x")}, Engines())

    async def scenario() -> list[bool]:
        return [c.cached for c in await asyncio.gather(*(client.complete(REQ) for _ in range(3)))]

    assert sorted(asyncio.run(scenario())) == [False, True, True]
    assert len(fake_llm.calls) == 1
