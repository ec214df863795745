"""The OpenAI chat-completions wire format: the request fields we accept, and the response,
chunk and model-list bodies we send.

Accepted: model, messages (system / developer / user / assistant; text content, as a string or a
list of text parts), temperature, max_tokens / max_completion_tokens, stream, stream_options,
n = 1, user. Sampling knobs we cannot honour are accepted only at their neutral value (top_p 1,
penalties 0), so that clients which always send them still work; every other field (tools,
response_format, logprobs, stop, seed, ...) is a 400 naming the field, never silently ignored.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from archon_cli.components.state import ExampleInput
from archon_cli.llm.types import Message
from archon_cli.llm.usage import Usage
from archon_cli.pipeline import ExampleResult
from archon_cli.serve.api_errors import APIError, bad_request


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextPart(_Wire):
    type: Literal["text"]
    text: str


class ChatMessage(_Wire):
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart]
    name: str | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)


class StreamOptions(_Wire):
    include_usage: bool = False


class ChatCompletionRequest(_Wire):
    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = 1
    user: str | None = None
    # Accepted only at their neutral values (checked below).
    top_p: float | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None

    @field_validator("n")
    @classmethod
    def _one_choice(cls, n: int) -> int:
        if n != 1:
            raise ValueError("only n = 1 is supported: a pipeline returns one answer per request")
        return n

    @field_validator("top_p")
    @classmethod
    def _neutral_top_p(cls, v: float | None) -> float | None:
        if v is not None and v != 1:
            raise ValueError("top_p is not supported (only 1): the pipeline's components set their own sampling")
        return v

    @field_validator("presence_penalty", "frequency_penalty")
    @classmethod
    def _neutral_penalty(cls, v: float | None) -> float | None:
        if v is not None and v != 0:
            raise ValueError("penalties are not supported (only 0)")
        return v

    @property
    def answer_max_tokens(self) -> int | None:
        return self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens

    def to_input(self, request_id: str) -> ExampleInput:
        # `developer` is the newer name of `system`; the engines' chat templates know `system`.
        msgs = tuple(Message("system" if m.role == "developer" else m.role, m.text()) for m in self.messages)
        return ExampleInput(request_id, msgs)


def parse_request(body: bytes, max_messages: int) -> ChatCompletionRequest:
    """The body of a chat-completions request, or an APIError (400) naming what is wrong."""
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise bad_request(f"the request body is not valid JSON: {exc}", kind="malformed_json") from None
    if not isinstance(data, dict):
        raise bad_request("the request body must be a JSON object", kind="malformed_json")
    messages = data.get("messages")
    if isinstance(messages, list) and len(messages) > max_messages:
        raise bad_request(f"too many messages: {len(messages)} (at most {max_messages})", param="messages",
                          code="too_many_messages")
    try:
        req = ChatCompletionRequest.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(exc) from None
    if not any(m.role == "user" for m in req.messages):
        raise bad_request("messages need at least one user message", param="messages")
    return req


def _validation_error(exc: ValidationError) -> APIError:
    problems, first_param, unsupported = [], None, False
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            unsupported = True
            problems.append(f"{loc}: not supported by archon serve")
        else:
            problems.append(f"{loc}: {err['msg'].removeprefix('Value error, ')}")
        first_param = first_param or loc
    kind = "unsupported" if unsupported else "invalid_request"
    return bad_request("; ".join(problems), kind=kind, param=first_param,
                       code="unsupported_parameter" if unsupported else None)


def new_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def usage_body(usage: Usage) -> dict[str, int]:
    return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.prompt_tokens + usage.completion_tokens}


def archon_body(result: ExampleResult) -> dict[str, Any]:
    """The extension field: every LLM call the pipeline made for this request."""
    u = result.usage
    return {
        "llm_calls": u.calls, "engine_calls": u.engine_calls, "cache_hits": u.cache_hits, "usd": u.usd,
        "calls": [{"layer": c.layer, "component": c.component, "model": c.model, "prompt_tokens": c.prompt_tokens,
                   "completion_tokens": c.completion_tokens, "cached": c.cached, "latency_s": round(c.latency_s, 4)}
                  for c in result.calls],
        "fallbacks": u.fallbacks,
    }


def completion_body(request_id: str, model: str, result: ExampleResult) -> dict[str, Any]:
    return {
        "id": request_id, "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": result.output},
                     "finish_reason": "stop", "logprobs": None}],
        "usage": usage_body(result.usage),
        "archon": archon_body(result),
    }


def chunk_body(request_id: str, model: str, created: int, delta: dict[str, Any],
               finish_reason: str | None = None) -> dict[str, Any]:
    return {"id": request_id, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}]}


def sse(data: dict[str, Any] | str) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"data: {text}\n\n".encode()


def models_body(names: list[str], created: int) -> dict[str, Any]:
    return {"object": "list",
            "data": [{"id": n, "object": "model", "created": created, "owned_by": "archon"} for n in names]}
