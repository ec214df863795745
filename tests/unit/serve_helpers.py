"""A real `archon serve` app on 127.0.0.1 (uvicorn in a thread) over the scripted fake LLM."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from archon_cli.components.validate import parse_pipeline
from archon_cli.llm.client import LLMClient
from archon_cli.llm.engines.manager import Engines
from archon_cli.serve.app import create_app
from archon_cli.serve.server import listen
from archon_cli.serve.service import ChatService, Limits
from archon_cli.serve.sources import Served, shared_models
from tests.conftest import fake_pipeline

GEN = {"type": "generator", "model": "m", "samples": 2, "temperature": 0.7, "max_tokens": 50}
FUSE = {"type": "fuser", "model": "m", "temperature": 0.1, "max_tokens": 40}


def served(name: str = "fused", *layers: list[dict]) -> Served:
    data = fake_pipeline(*(layers or ([GEN], [FUSE]))) | {"name": name}
    return Served(name, parse_pipeline(data, name), "test")


@dataclass
class Running:
    url: str  # …/v1
    root: str
    service: ChatService


@contextmanager
def running_server(pipelines: list[Served], limits: Limits | None = None, api_key: str | None = None
                   ) -> Iterator[Running]:
    models, pipelines = shared_models(pipelines)
    with Engines() as engines:
        service = ChatService(pipelines, LLMClient(models, engines, None), limits or Limits())
        sock = listen("127.0.0.1", 0)
        server = uvicorn.Server(uvicorn.Config(create_app(service, api_key), log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        root = f"http://127.0.0.1:{sock.getsockname()[1]}"
        try:
            yield Running(f"{root}/v1", root, service)
        finally:
            server.should_exit = True
            thread.join(20)
