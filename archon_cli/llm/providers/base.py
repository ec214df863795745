"""The provider extension point.

Lifecycle: the client builds one provider per model alias, `cls(spec, engines)`, which must
not start anything (validation and estimates build clients too). `complete()` may start an
engine on first use through `engines`, which stops everything when the command ends. It
raises TransientError for failures worth retrying (the client retries with backoff) and
LLMCallError for the rest. Error texts are built with `error_text` (redacted: no key ever
reaches a message). A provider that streams reports the tokens it has received so far in
`current_call()`, so a call cut short still counts what it spent.
"""

from __future__ import annotations

import contextvars
import datetime
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

from archon_cli.config.pipeline import ModelSpec
from archon_cli.llm.engines.manager import EngineSource

# Hosted APIs: enough in flight to hide latency, few enough to stay under common rate limits.
DEFAULT_API_CONCURRENCY = 16
# Hosted APIs: the whole call, retries included, when the model sets no `timeout_s`. Generous
# for a long non-streamed answer, short enough that a dead endpoint fails a run in minutes.
DEFAULT_API_TIMEOUT_S = 300.0


@dataclass
class CallMeter:
    """Tokens one engine attempt has used so far (a streaming provider updates it as they come)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0


_CURRENT_CALL: contextvars.ContextVar[CallMeter] = contextvars.ContextVar("archon_current_call")


def current_call() -> CallMeter:
    """The meter of the attempt running in this task (a throwaway one outside the client)."""
    meter = _CURRENT_CALL.get(None)
    if meter is None:
        meter = CallMeter()
        _CURRENT_CALL.set(meter)
    return meter


def start_call() -> CallMeter:
    """A fresh meter for the attempt about to run in this task (the client calls this)."""
    meter = CallMeter()
    _CURRENT_CALL.set(meter)
    return meter


class TransientError(Exception):
    """A timeout, rate limit, 5xx or unreachable engine: the client retries it. `retry_after_s`:
    how long the server asked to wait (`Retry-After`), which the client honours within the call's
    total deadline."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class CallTimeout(TransientError):
    """No progress (no byte, or no token from an engine) within the idle timeout."""


@dataclass(frozen=True)
class RawCompletion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    # Time of the request alone, when the provider measured it (engine start-up excluded).
    latency_s: float | None = None
    # Prompt tokens the engine took from its prompt cache instead of processing them (when it says).
    cached_prompt_tokens: int = 0


class Provider(ABC):
    # Sampling seed = the request's sample index, so repeated samples are reproducible.
    send_seed: ClassVar[bool] = False
    default_timeout_s: ClassVar[float | None] = DEFAULT_API_TIMEOUT_S

    def __init__(self, spec: ModelSpec, engines: EngineSource) -> None:
        self.spec = spec
        self.engines = engines

    @property
    def identity(self) -> str:
        """What the cache keys on: the model itself, never its alias or a port."""
        return self.spec.model

    @property
    def supports_json_schema(self) -> bool:
        """The endpoint constrains replies to a JSON schema (`response_format`); unknown ones do not."""
        return False

    @property
    def max_concurrency(self) -> int:
        return self.spec.max_concurrency or DEFAULT_API_CONCURRENCY

    @property
    def timeout_s(self) -> float | None:
        """Total deadline of one call, every attempt and backoff included (None: no cap)."""
        return self.spec.timeout_s or self.default_timeout_s

    def prewarm(self) -> None:
        """Start importing the client library in the background (called while engines start)."""
        return None

    @abstractmethod
    async def complete(self, messages: list[dict[str, str]], sampling: dict[str, Any]) -> RawCompletion: ...


def retry_after_s(headers: Any) -> float | None:
    """Seconds a response's `retry-after-ms` / `retry-after` header asks to wait (a number or
    an HTTP date), None when it sets none or nothing readable. `headers`: any mapping."""
    try:
        found = {str(k).lower(): str(v) for k, v in dict(headers or {}).items()}
    except (TypeError, ValueError):
        return None
    for name, scale in (("retry-after-ms", 1e-3), ("retry-after", 1.0)):
        if (value := found.get(name)) is None:
            continue
        try:
            return max(0.0, float(value) * scale)
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            continue
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.UTC)
        return max(0.0, (when - datetime.datetime.now(datetime.UTC)).total_seconds())
    return None


def prewarm(import_module: Callable[[], Any]) -> None:
    """Run a (locked, lazy) import in a background thread: client libraries take seconds."""
    threading.Thread(target=import_module, daemon=True).start()


