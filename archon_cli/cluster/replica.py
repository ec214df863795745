"""One engine replica as a Ray actor: it owns one engine process on its node.

Placement: the actor is created with the model's `cpus_per_replica` and `gpus_per_replica`, so
Ray puts it where those resources are and sets CUDA_VISIBLE_DEVICES to its GPUs. On a cluster
of several nodes the engine listens on the node's address so that workers elsewhere reach it;
on one node it stays on 127.0.0.1.
"""

from __future__ import annotations

from typing import Any

from archon_cli.config.pipeline import ModelSpec
from archon_cli.llm.engines.http_server import healthy
from archon_cli.llm.engines.manager import EngineProcess, make_engine


class EngineReplica:
    def __init__(self, spec_data: dict[str, Any], multi_node: bool) -> None:
        import ray

        self.spec = ModelSpec.model_validate(spec_data)
        self.host = ray.util.get_node_ip_address() if multi_node else "127.0.0.1"
        self.engine: EngineProcess | None = None
        self.restarts = 0

    def start(self) -> str:
        # A replica's CPU engine uses the cores Ray gave it, not every core of the node.
        threads = max(1, round(self.spec.cpus_per_replica))
        self.engine = make_engine(self.spec, self.host, threads)
        return self.engine.start()

    def check(self) -> str:
        """Health-check; restart a dead or unresponsive engine. Returns the URL now serving."""
        if self.engine is not None and self.engine.alive() and self.engine.url and healthy(self.engine.url):
            return self.engine.url
        if self.engine is not None:
            self.engine.stop()
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
