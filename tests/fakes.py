"""A scripted fake LLM, registered through the real provider registry as `fake/...`.

A test sets `FakeLLM.responder` (messages, sampling) -> text; every call is recorded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, ClassVar

from archon_cli.llm.providers import PROVIDERS
from archon_cli.llm.providers.base import Provider, RawCompletion, TransientError

Responder = Callable[[list[dict[str, str]], dict[str, Any]], str]


def echo_last_user(messages: list[dict[str, str]], sampling: dict[str, Any]) -> str:
    """Distinct text per call, so no two prompts of later layers coincide by accident."""
    return f"answer {len(FakeLLM.calls)}: " + messages[-1]["content"][-40:]


@PROVIDERS.register("fake")
class FakeLLM(Provider):
    send_seed = True
    responder: ClassVar[Responder] = staticmethod(echo_last_user)
    calls: ClassVar[list[tuple[list[dict[str, str]], dict[str, Any]]]] = []
    # Number of upcoming calls that fail with a transient error (to exercise retries).
    fail_next: ClassVar[int] = 0
    # Seconds each call takes (an asyncio sleep; or a function of the sampling, e.g. its seed),
    # and how many calls were cancelled while waiting.
    delay_s: ClassVar[float | Callable[[dict[str, Any]], float]] = 0.0
    cancelled: ClassVar[int] = 0

    async def complete(self, messages: list[dict[str, str]], sampling: dict[str, Any]) -> RawCompletion:
        delay = FakeLLM.delay_s(sampling) if callable(FakeLLM.delay_s) else FakeLLM.delay_s
        if delay:
            try:
                await asyncio.sleep(delay)
            except asyncio.CancelledError:
                FakeLLM.cancelled += 1
                raise
        if FakeLLM.fail_next > 0:
            FakeLLM.fail_next -= 1
            raise TransientError("fake: 503 Service Unavailable")
        FakeLLM.calls.append((messages, sampling))
        text = FakeLLM.responder(messages, sampling)
        prompt_tokens = sum(len(m["content"].split()) for m in messages)
        return RawCompletion(text, prompt_tokens, len(text.split()))

    @classmethod
    def reset(cls, responder: Responder = echo_last_user) -> None:
        cls.responder = staticmethod(responder)
        cls.calls = []
        cls.fail_next = 0
        cls.delay_s = 0.0
        cls.cancelled = 0
