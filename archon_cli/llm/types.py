"""Wire types: what a component asks of the LLM client and what comes back."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    role: str
    content: str


@dataclass(frozen=True)
class Request:
    """One LLM call as a component asks for it; the executor resolves `model` (an alias)."""

    model: str
    messages: tuple[Message, ...]
    temperature: float
    max_tokens: int
    # Distinguishes repeated samples of the same prompt (cache key and engine seed).
    sample: int = 0


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    cached: bool
    usd: float
