"""`archon serve configs/single_model.yaml --replicas 2`: the app as a Ray Serve deployment of two
replicas on a local Ray, sharing one supervised embedded-engine replica, called with the real
openai SDK; SIGTERM takes Serve, the engine and Ray down (no process of the run is left)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import openai  # noqa: TID253 (a test is not on the CLI's start-up path)
import pytest

from tests.integration.test_serve import free_port
from tests.processes import pids_with_environment

ROOT = Path(__file__).parents[2]
KEY_ENV = "ARCHON_TEST_SERVE_KEY"
MODEL = "single-model"
HEADER = "x-archon-replica"


def replicas_seen(root: str, want: int, timeout_s: float) -> set[str]:
    """Replica ids named by /health responses until `want` distinct ones came back (the proxy
    then routes to all of them)."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout_s
    while len(seen) < want and time.monotonic() < deadline:
        seen.add(httpx.get(f"{root}/health", timeout=10).headers[HEADER])
    return seen


async def two_requests(url: str, key: str) -> tuple[Any, Any, str, Any]:
    client = openai.AsyncOpenAI(base_url=url, api_key=key, max_retries=0, timeout=120)

    async def answer() -> Any:
        return await client.chat.completions.with_raw_response.create(
            model=MODEL, messages=[{"role": "user", "content": "Name three colors."}], max_tokens=48, temperature=0)

    async def stream() -> tuple[Any, str, Any]:
        await asyncio.sleep(0.2)  # the first request is in flight: Ray Serve routes this one elsewhere
        raw = await client.chat.completions.with_raw_response.create(
            model=MODEL, messages=[{"role": "user", "content": "What is 12 + 7?"}], max_tokens=8, temperature=0,
            stream=True, stream_options={"include_usage": True})
        chunks = [c async for c in raw.parse()]
        return raw, "".join(c.choices[0].delta.content or "" for c in chunks if c.choices), chunks[-1].usage

    first, (second, text, usage) = await asyncio.gather(answer(), stream())
    return first, second, text, usage


@pytest.mark.timeout(300)
def test_two_serve_replicas_share_the_engine_and_stop_cleanly(tmp_path: Path) -> None:
    key, port, marker = f"k-{uuid.uuid4().hex}", free_port(), f"serve-ray-test-{uuid.uuid4().hex}"
    env = {**os.environ, KEY_ENV: key, "ARCHON_CACHE_DIR": str(tmp_path / "cache"), "ARCHON_TEST_MARKER": marker}
    stderr = (tmp_path / "stderr.txt").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "archon_cli", "serve", "configs/single_model.yaml", "--replicas",
                             "2", "--port", str(port), "--api-key-env", KEY_ENV], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.DEVNULL, stderr=stderr)
    root = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while "listening on" not in (tmp_path / "stderr.txt").read_text():
            assert proc.poll() is None, (tmp_path / "stderr.txt").read_text()
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.5)
        assert len(replicas_seen(root, 2, timeout_s=30)) == 2

        first, second, streamed, usage = asyncio.run(two_requests(f"{root}/v1", key))
        resp = first.parse()
        assert resp.choices[0].message.content and resp.choices[0].message.content.strip()
        assert resp.model_extra["archon"]["engine_calls"] == 1
        assert streamed.strip() and usage is not None and usage.completion_tokens > 0
        assert first.headers[HEADER] != second.headers[HEADER]  # two replicas, one engine between them

        denied = httpx.post(f"{root}/v1/chat/completions", json={"model": MODEL, "messages": []})
        assert denied.status_code == 401 and denied.json()["error"]["code"] == "invalid_api_key"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=90)
        stderr.close()
    log = (tmp_path / "stderr.txt").read_text()
    assert key not in log
    assert proc.returncode == 0, log
    deadline = time.monotonic() + 15  # Ray's own daemons exit a moment after the driver
    while (left := pids_with_environment(marker)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not left, f"processes of the run are left: {sorted(left)}"
