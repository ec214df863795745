"""Starting or joining Ray quietly (no banners over the progress view, no dashboard)."""

from __future__ import annotations

import os
from typing import Any

from archon_cli.errors import MissingDependencyError


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise MissingDependencyError("Ray is needed for workers > 1: pip install ray") from None
    return ray


def init_ray(address: str | None = None, num_cpus: int | None = None) -> dict[str, Any]:
    """Join `address`, or start a local Ray with this machine's resources. Returns a summary of
    the cluster for env.json."""
    ray = import_ray()
    if not ray.is_initialized():
        os.environ.setdefault("RAY_DEDUP_LOGS", "0")
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
        if address:
            kwargs["address"] = address
        else:  # "local": a new Ray even where `ray start` left a cluster (ray.init would join it)
            kwargs["address"] = "local"
            kwargs["num_cpus"] = num_cpus or os.cpu_count() or 1
        ray.init(**kwargs)
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    return {"address": address or "local", "nodes": [{"node_id": n["NodeID"], "ip": n["NodeManagerAddress"],
                                                      "resources": n.get("Resources", {})} for n in nodes]}


def shutdown_ray() -> None:
    ray = import_ray()
    if ray.is_initialized():
        ray.shutdown()
