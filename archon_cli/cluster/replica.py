"""One engine replica as a Ray actor: it owns one engine process on its node.

Placement: the actor is created with the model's `cpus_per_replica` and `gpus_per_replica`, so
Ray puts it where those resources are and sets CUDA_VISIBLE_DEVICES to its GPUs. On a cluster
of several nodes the engine listens on the node's address so that workers elsewhere reach it;
on one node it stays on 127.0.0.1.
"""

from __future__ import annotations

import time
from typing import Any

from archon_cli.config.pipeline import ModelSpec
from archon_cli.llm.engines.http_server import healthy
from archon_cli.llm.engines.manager import EngineProcess, make_engine

# A live engine is restarted only when it has not answered /health for this long: a busy engine
# on loaded cores can miss a 2 s check (seen with one-thread llama.cpp replicas on 2 cores), and
# restarting it throws away its requests in flight and its prompt cache.
UNRESPONSIVE_S = 30.0


class EngineReplica:
    def __init__(self, spec_data: dict[str, Any], multi_node: bool) -> None:
        import ray

        self.spec = ModelSpec.model_validate(spec_data)
        self.host = ray.util.get_node_ip_address() if multi_node else "127.0.0.1"
        self.engine: EngineProcess | None = None
        self.restarts = 0
        self.answered_at = 0.0  # when the engine last answered a health check (or started)

    def start(self) -> str:
        # A replica's CPU engine uses the cores Ray gave it, not every core of the node.
        threads = max(1, round(self.spec.cpus_per_replica))
        self.engine = make_engine(self.spec, self.host, threads)
        url = self.engine.start()
        self.answered_at = time.monotonic()
        return url

    def check(self) -> str:
        """Health-check; restart an engine that died or stopped answering (UNRESPONSIVE_S).
        Returns the URL now serving."""
        engine = self.engine
        if engine is not None and engine.alive() and engine.url:
            if healthy(engine.url):
                self.answered_at = time.monotonic()
                return engine.url
            if time.monotonic() - self.answered_at < UNRESPONSIVE_S:
                return engine.url
        if engine is not None:
            engine.stop()
        self.restarts += 1
        return self.start()

    def info(self) -> dict[str, Any]:
        import ray

        return {"model": self.spec.model, "url": self.engine.url if self.engine else None,
                "node_id": ray.get_runtime_context().get_node_id(), "gpus": [str(g) for g in ray.get_gpu_ids()],
                "pid": self.engine.pid() if self.engine else None,
                "threads": self.engine.threads if self.engine else None, "restarts": self.restarts}

    def stop(self) -> None:
        if self.engine is not None:
            self.engine.stop()
