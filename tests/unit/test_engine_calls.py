"""Calls to engines the tool runs (openai SDK): answers, and which failures are retried."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from archon_cli.errors import LLMCallError
from archon_cli.llm.providers.base import RawCompletion, TransientError
from archon_cli.llm.providers.engine_calls import EngineClients, openai_complete

ANSWER = {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
          "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "42"}}],
          "usage": {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9,
                    "prompt_tokens_details": {"cached_tokens": 5}}}


class Engine(BaseHTTPRequestHandler):
    """Answers by the requested model name: `ok`, or an HTTP status such as `503`."""

    bodies: ClassVar[list[dict[str, object]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Engine.bodies.append(body)
        status = 200 if body["model"] == "ok" else int(body["model"])
        payload = json.dumps(ANSWER if status == 200 else {"error": {"message": "nope"}}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Engine)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def call(url: str, model: str) -> RawCompletion:
    async def go() -> RawCompletion:
        client = EngineClients(timeout_s=10).get(url)
        return await openai_complete(client, model, [{"role": "user", "content": "6*7?"}],
                                     {"temperature": 0.0, "max_tokens": 4, "seed": 3})
    return asyncio.run(go())


def test_answer_usage_and_sampling_sent(url: str) -> None:
    done = call(url, "ok")
    assert (done.text, done.prompt_tokens, done.completion_tokens, done.cached_prompt_tokens) == ("42", 7, 2, 5)
    assert {k: Engine.bodies[-1][k] for k in ("temperature", "max_tokens", "seed")} == \
        {"temperature": 0.0, "max_tokens": 4, "seed": 3}


def test_min_p_top_p_and_schema_reach_the_body(url: str) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "reply", "schema": {"type": "object"}, "strict": True}}

    async def go() -> RawCompletion:
        client = EngineClients(timeout_s=10).get(url)
        return await openai_complete(client, "ok", [{"role": "user", "content": "6*7?"}],
                                     {"temperature": 0.7, "max_tokens": 4, "top_p": 0.9, "min_p": 0.05,
                                      "response_format": fmt})

    asyncio.run(go())
    body = Engine.bodies[-1]
    assert (body["top_p"], body["min_p"], body["response_format"]) == (0.9, 0.05, fmt)


@pytest.mark.parametrize("status", ["503", "500", "429"])
def test_overload_and_server_errors_are_transient(url: str, status: str) -> None:
    with pytest.raises(TransientError):
        call(url, status)


@pytest.mark.parametrize("status", ["400", "404"])
def test_bad_requests_are_not_retried(url: str, status: str) -> None:
    with pytest.raises(LLMCallError):
        call(url, status)


def test_new_clients_reuse_one_ssl_context(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading the CA bundle costs ~40 ms of CPU; a Ray worker makes clients for every trial."""
    import ssl

    from archon_cli.llm.providers import engine_calls

    made: list[object] = []
    real = ssl.create_default_context
    monkeypatch.setattr(ssl, "create_default_context", lambda *a, **k: made.append(1) or real(*a, **k))
    engine_calls.ssl_context.cache_clear()
    clients = EngineClients(timeout_s=10)

    async def per_trial() -> None:  # a new event loop: new clients
        clients.get(url), clients.get(url + "/other")

    asyncio.run(per_trial())
    asyncio.run(per_trial())
    assert len(made) == 1


def test_unreachable_engine_is_transient() -> None:
    with pytest.raises(TransientError):
        call("http://127.0.0.1:9/v1", "ok")  # discard port: nothing listens
