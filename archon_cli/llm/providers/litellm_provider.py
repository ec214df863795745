"""Hosted APIs (any litellm model string) and OpenAI-compatible servers the user runs, through
litellm (the engines the tool runs itself are called through `engine_calls`).

litellm is imported lazily (it takes seconds) and configured for offline use: the bundled
cost map instead of a download, no telemetry, unsupported params dropped per provider.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
import time
from typing import Any

from archon_cli.errors import LLMCallError
from archon_cli.llm.providers import PROVIDERS
from archon_cli.llm.providers.base import CallTimeout, Provider, RawCompletion, TransientError, prewarm, retry_after_s
from archon_cli.redact import error_text, redact_library_logs

_lock = threading.Lock()


def import_litellm() -> Any:
    with _lock:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm

        litellm.telemetry = False
        litellm.drop_params = True
        litellm.suppress_debug_info = True
        names = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "httpx", "openai")
        for name in names:
            logging.getLogger(name).setLevel(logging.WARNING)
        redact_library_logs(*names)
        return litellm


async def litellm_complete(model: str, messages: list[dict[str, str]], sampling: dict[str, Any], *,
                           idle_timeout_s: float, api_base: str | None, api_key: str | None) -> RawCompletion:
    """One non-streamed attempt. `idle_timeout_s` is httpx's per-operation timeout (connect, each
    read): a silent server fails after it; a trickling one is cut by the client's total deadline."""
    litellm = import_litellm()
    # Retrying cannot help these: the key, the permission, the model's name or the request is wrong.
    permanent = (litellm.AuthenticationError, litellm.PermissionDeniedError, litellm.NotFoundError,
                 litellm.BadRequestError)
    transient = (litellm.Timeout, litellm.RateLimitError, litellm.APIConnectionError,
                 litellm.InternalServerError, litellm.ServiceUnavailableError)
    kwargs: dict[str, Any] = {"model": model, "messages": messages, "timeout": idle_timeout_s, "num_retries": 0,
                              **sampling}
    if api_base:
        kwargs["api_base"] = api_base
    if api_key:
        kwargs["api_key"] = api_key
    start = time.perf_counter()
    try:
        resp = await litellm.acompletion(**kwargs)
    except litellm.Timeout as exc:
        raise CallTimeout(f"{model}: {type(exc).__name__}: {error_text(exc)}") from None
    except permanent as exc:
        raise LLMCallError(f"{model}: {type(exc).__name__} (not retried): {error_text(exc)}") from None
    except transient as exc:
        if MISSING_CREDENTIALS.search(str(exc)):  # litellm reports openai's missing key as a 500
            raise LLMCallError(f"{model}: no API key (not retried): {error_text(exc)}") from None
        raise TransientError(f"{model}: {type(exc).__name__}: {error_text(exc)}",
                             retry_after_s=_retry_after(exc)) from None
    except Exception as exc:  # provider errors (garbage, unknown provider): retrying will not help
        raise LLMCallError(f"{model}: {type(exc).__name__}: {error_text(exc)}") from None
    usage = getattr(resp, "usage", None)
    return RawCompletion(
        text=resp.choices[0].message.content or "",
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        latency_s=time.perf_counter() - start,
    )


# The openai SDK's words for a call made without a key, which litellm maps to InternalServerError.
MISSING_CREDENTIALS = re.compile(r"missing credentials|api_key client option must be set", re.IGNORECASE)


def _retry_after(exc: BaseException) -> float | None:
    """The wait a 429/503 asks for: litellm keeps the response (its headers) on the exception."""
    for headers in (getattr(getattr(exc, "response", None), "headers", None), getattr(exc, "headers", None),
                    getattr(exc, "litellm_response_headers", None)):
        if (seconds := retry_after_s(headers)) is not None:
            return seconds
    return None


@functools.cache
def _supports_response_schema(model: str) -> bool:
    """From litellm's bundled model map; a model it does not know counts as not enforcing."""
    try:
        return bool(import_litellm().supports_response_schema(model=model))
    except Exception:  # litellm raises assorted errors for models missing from its map
        return False


@PROVIDERS.register("litellm")
class LitellmProvider(Provider):
    """Keys come from the environment only: litellm's own variables (OPENAI_API_KEY, ...) or
    the variable named by `api_key_env`."""

    def prewarm(self) -> None:
        prewarm(import_litellm)

    @property
    def identity(self) -> str:
        return endpoint_identity(self.spec.model, self.spec.api_base)

    @property
    def supports_json_schema(self) -> bool:
        return _supports_response_schema(self.spec.model)

    async def complete(self, messages: list[dict[str, str]], sampling: dict[str, Any]) -> RawCompletion:
        key = None
        if self.spec.api_key_env:
            key = os.environ.get(self.spec.api_key_env)
            if not key:
                raise LLMCallError(f"{self.spec.model}: environment variable {self.spec.api_key_env} is not set")
        return await litellm_complete(self.spec.model, messages, sampling, idle_timeout_s=self.spec.idle_timeout_s,
                                      api_base=self.spec.api_base, api_key=key)


def endpoint_identity(model: str, api_base: str | None) -> str:
    """Cache identity of a model behind litellm: the model string names the weights of a hosted
    API, but not of a server the user points `api_base` at (two OpenAI-compatible servers may
    serve different weights under one name), so there the endpoint is part of it."""
    return f"{model}@{api_base.rstrip('/')}" if api_base else model
