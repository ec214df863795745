"""Runs the app under uvicorn in this process: one event loop, one LLM client, the engines
started before the first request, and a bounded drain on Ctrl-C / SIGTERM.

On a signal uvicorn stops accepting connections, waits up to `drain_s` for in-flight requests
(then cancels them), and returns; `open_client` then stops the engines. uvicorn would re-raise
the signal afterwards (a default SIGTERM handler kills the process before the engines stop), so
the server here records it instead, and a drained shutdown exits 0.
"""

from __future__ import annotations

import asyncio
import math
import signal
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import uvicorn

from archon_cli.errors import ConfigError
from archon_cli.llm.client import LLMClient
from archon_cli.llm.providers.engine_calls import EngineProvider
from archon_cli.llm.session import open_client
from archon_cli.serve.app import create_app
from archon_cli.serve.service import ChatService, Limits
from archon_cli.serve.sources import Served, shared_models


class _DrainingServer(uvicorn.Server):
    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def start_engines(client: LLMClient) -> None:
    """Start every engine the tool runs itself now, so the first request does not wait for one."""
    for provider in client.providers.values():
        if isinstance(provider, EngineProvider) and provider.spec.api_base is None:
            url = client.engines.url(provider.spec)
            client.engines.release(provider.spec, url)


def listen(host: str, port: int) -> socket.socket:
    """Bind before any engine starts, so a busy port fails at once (uvicorn would exit the process)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def serve(served: list[Served], *, host: str, port: int, limits: Limits, api_key: str | None,
          use_cache: bool = True, drain_s: float = 30.0, log_level: str = "info",
          on_ready: Callable[[str], None] = lambda url: None) -> None:
    """Serve until a signal; `on_ready` gets the base URL (…/v1) once engines are up."""
    models, served = shared_models(served)
    sock = listen(host, port)
    with sock, open_client(models, use_cache=use_cache) as client:
        start_engines(client)
        app = create_app(ChatService(served, client, limits), api_key)
        config = uvicorn.Config(app, log_level=log_level, timeout_graceful_shutdown=math.ceil(drain_s), lifespan="off",
                                server_header=False)
        bound_host, bound_port = sock.getsockname()[:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        on_ready(f"http://{shown}:{bound_port}/v1")
        asyncio.run(_DrainingServer(config).serve(sockets=[sock]))
