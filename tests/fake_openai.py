"""A fake OpenAI-compatible HTTP server on 127.0.0.1 whose behaviour is chosen by the requested
model name: `ok` answers (streamed when asked), `slow` streams 20 tokens 0.1 s apart, `hang`
never answers, `trickle` sends one byte every 0.2 s forever, `garbage` sends a body that is no
completion, `echo` answers 401 with the request's credentials in the body (as some providers
do), and a number such as `503` answers that status."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

USAGE = {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9, "prompt_tokens_details": {"cached_tokens": 5}}
ANSWER = {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
          "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "42"}}],
          "usage": USAGE}


def chunk(content: str | None = None, usage: dict[str, Any] | None = None) -> bytes:
    choices = [] if usage else [{"index": 0, "finish_reason": None, "delta": {"content": content}}]
    data = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m", "choices": choices}
    if usage:
        data["usage"] = usage
    return b"data: " + json.dumps(data).encode() + b"\n\n"


class Handler(BaseHTTPRequestHandler):
    bodies: ClassVar[list[dict[str, Any]]] = []
    headers_seen: ClassVar[list[dict[str, str]]] = []
    stop: ClassVar[threading.Event] = threading.Event()
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Handler.bodies.append(body)
        Handler.headers_seen.append(dict(self.headers))
        model = str(body["model"]).rsplit("/", 1)[-1]
        if model == "hang":
            Handler.stop.wait(120)
            return
        if model == "trickle":
            self._start(200, "text/event-stream")
            while not Handler.stop.wait(0.2) and self._write_chunk(b":"):
                pass
            return
        if model == "garbage":
            return self._send(200, b"<html>upstream proxy error</html>", "application/json")
        if model == "echo":
            auth = self.headers.get("Authorization", "") + " " + self.headers.get("api-key", "")
            return self._send(401, json.dumps({"error": {"message": f"invalid credentials: {auth}",
                                                         "type": "invalid_request_error"}}).encode())
        if model.isdigit():
            return self._send(int(model), json.dumps({"error": {"message": "nope"}}).encode())
        if not body.get("stream"):
            return self._send(200, json.dumps(ANSWER).encode())
        self._start(200, "text/event-stream")
        tokens = ["4", "2"] if model == "ok" else [f"t{i} " for i in range(20)]
        for token in tokens:
            if model == "slow":
                time.sleep(0.1)
            self._write_chunk(chunk(token))
        self._write_chunk(chunk(usage={**USAGE, "completion_tokens": len(tokens)}))
        self._write_chunk(b"data: [DONE]\n\n")
        self._write_chunk(b"")

    def _send(self, status: int, payload: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _start(self, status: int, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _write_chunk(self, data: bytes) -> bool:
        try:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
        except OSError:  # the client gave up
            return False
        return True

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def fake_openai() -> Iterator[str]:
    """The server's base URL (…/v1) while the block runs."""
    Handler.stop = threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        Handler.stop.set()
        server.shutdown()
        server.server_close()
