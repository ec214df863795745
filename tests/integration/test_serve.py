"""`archon serve configs/sample_rank_fuse.yaml` as a subprocess on the embedded engine, called with
the real openai SDK (sync and async clients) and httpx. One pipeline run does the real work; the
repeats are served by the cache, which is part of what is checked."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai  # noqa: TID253 (a test is not on the CLI's start-up path)
import pytest

from tests.processes import pids_with_environment

ROOT = Path(__file__).parents[2]
KEY_ENV = "ARCHON_TEST_SERVE_KEY"
MODEL = "sample-rank-fuse"
QUESTION = [{"role": "system", "content": "Answer with the number only."},
            {"role": "user", "content": "What is 12 + 7?"}]
# The answer layer (the fuser) gets these; the generators and the ranker keep the file's sampling.
SAMPLING: dict[str, Any] = {"temperature": 0.0, "max_tokens": 16}


@dataclass
class Server:
    url: str
    key: str
    call_log: Path
    proc: subprocess.Popen[str]
    marker: str

    def logged_calls(self) -> list[dict[str, Any]]:
        text = self.call_log.read_text() if self.call_log.exists() else ""
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("serve")
    key, port, marker = f"k-{uuid.uuid4().hex}", free_port(), f"serve-test-{uuid.uuid4().hex}"
    env = {**os.environ, KEY_ENV: key, "ARCHON_CALL_LOG": str(tmp / "calls.jsonl"),
           "ARCHON_CACHE_DIR": str(tmp / "cache"), "ARCHON_TEST_MARKER": marker}
    stderr = (tmp / "stderr.txt").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "archon_cli", "serve", "configs/sample_rank_fuse.yaml",
                             "--port", str(port), "--api-key-env", KEY_ENV], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.DEVNULL, stderr=stderr)
    srv = Server(f"http://127.0.0.1:{port}/v1", key, tmp / "calls.jsonl", proc, marker)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (tmp / "stderr.txt").read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.5)
        yield srv
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
        stderr.close()
    log = (tmp / "stderr.txt").read_text()
    assert key not in log  # the key never reaches the logs
    assert proc.returncode == 0, log  # a drained shutdown
    assert not pids_with_environment(marker)  # the engine it started is gone


def test_sync_answer_with_usage_of_every_engine_call(server: Server) -> None:
    client = openai.OpenAI(base_url=server.url, api_key=server.key, max_retries=0, timeout=280)
    before = len(server.logged_calls())
    resp = client.chat.completions.create(model=MODEL, messages=QUESTION, **SAMPLING)  # type: ignore[call-overload]
    calls = server.logged_calls()[before:]
    assert resp.choices[0].message.content and resp.choices[0].message.content.strip()
    ext = resp.model_extra["archon"]
    # 4 samples, 1 ranking, 1 fusion; all reached the engine (fresh cache, distinct seeds).
    assert ext["llm_calls"] == 6 and ext["engine_calls"] == 6 and len(calls) == 6
    assert resp.usage is not None
    assert resp.usage.prompt_tokens == sum(c["prompt_tokens"] for c in calls)
    assert resp.usage.completion_tokens == sum(c["completion_tokens"] for c in calls)
    fuser = [c for c in calls if c["sampling"]["max_tokens"] == 16]
    assert len(fuser) == 1 and fuser[0]["sampling"]["temperature"] == 0.0
    # The conversation, system message included, is what the generators answered.
    assert sum(1 for c in calls if c["messages"] == QUESTION) == 4


def test_async_client_and_stream_served_from_the_cache(server: Server) -> None:
    async def ask() -> tuple[Any, str, Any]:
        client = openai.AsyncOpenAI(base_url=server.url, api_key=server.key, max_retries=0, timeout=280)
        resp = await client.chat.completions.create(model=MODEL, messages=QUESTION, **SAMPLING)  # type: ignore[call-overload]
        stream = await client.chat.completions.create(model=MODEL, messages=QUESTION, stream=True,  # type: ignore[call-overload]
                                                      stream_options={"include_usage": True}, **SAMPLING)
        chunks = [c async for c in stream]
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        return resp, text, chunks[-1].usage

    before = len(server.logged_calls())
    resp, streamed, stream_usage = asyncio.run(ask())
    assert len(server.logged_calls()) == before  # a repeated request costs no engine call
    assert resp.model_extra["archon"]["engine_calls"] == 0 and resp.model_extra["archon"]["cache_hits"] == 6
    assert streamed == resp.choices[0].message.content
    assert stream_usage.prompt_tokens == resp.usage.prompt_tokens


def test_errors_in_openais_shape(server: Server) -> None:
    client = openai.OpenAI(base_url=server.url, api_key=server.key, max_retries=0, timeout=30)
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model=MODEL, messages=QUESTION, n=2)  # type: ignore[call-overload]
    assert bad.value.status_code == 400 and bad.value.body["param"] == "n"  # type: ignore[index]
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="no-such-model", messages=QUESTION)  # type: ignore[call-overload]
    assert missing.value.status_code == 404
    keyless = openai.OpenAI(base_url=server.url, api_key="not-the-key", max_retries=0, timeout=30)
    with pytest.raises(openai.AuthenticationError) as denied:
        keyless.chat.completions.create(model=MODEL, messages=QUESTION)  # type: ignore[call-overload]
    assert denied.value.status_code == 401
    assert httpx.post(f"{server.url}/chat/completions", json={"model": MODEL, "messages": QUESTION}).status_code == 401
    assert [m.id for m in client.models.list()] == [MODEL]
    metrics = httpx.get(server.url.removesuffix("/v1") + "/metrics").text
    assert 'archon_serve_errors_total{kind="unauthorized"} 2' in metrics
    assert 'archon_serve_engine_calls_total{model="sample-rank-fuse"}' in metrics
