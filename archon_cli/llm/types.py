"""Wire types: what a component asks of the LLM client and what comes back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
    # Optional sampling knobs; None = the engine's default (and no change to the cache key).
    top_p: float | None = None
    min_p: float | None = None
    # A JSON schema the reply must follow, sent only to providers that enforce one
    # (`Provider.supports_json_schema`), or to any provider when `require_schema` is set.
    json_schema: dict[str, Any] | None = field(default=None, hash=False)
    require_schema: bool = False
    # The reply budget when the schema is sent (JSON takes more tokens than a bare answer, and
    # engines pretty-print it); max_tokens applies otherwise.
    schema_max_tokens: int | None = None


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    cached: bool
    usd: float
