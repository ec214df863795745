"""`--replicas N` / `--ray-address ADDR`: the same app as a Ray Serve deployment.

The driver (this process) starts or joins Ray, starts the engine replicas of the served models as
supervised Ray actors (`cluster/supervisor.py`, the same supervisor the Ray trial executor uses),
and deploys `ServeReplica` with `num_replicas=N` behind Ray Serve's HTTP proxy. Each replica
builds the app of `app.py` from the same served pipelines, over its own LLM client whose engine
calls go through `RayEngines`: to the least busy healthy engine replica, shared by all serve
replicas. Ray Serve routes requests over the serve replicas; each response names the replica that
answered in `x-archon-replica`. Each replica keeps its own `/metrics` and its own `--max-queue`.

On Ctrl-C / SIGTERM the driver deletes the application (Ray Serve lets in-flight requests finish
for up to `drain_s`), stops the engines, and shuts down the Ray it started. On a cluster it
joined it removes only its own application, and shuts Serve down only if nothing else runs on it.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from archon_cli.cluster.executor import yield_cpu_to_engines
from archon_cli.cluster.runtime import init_ray
from archon_cli.cluster.supervisor import RayEngines, start_supervisor
from archon_cli.errors import ConfigError, MissingDependencyError
from archon_cli.llm.cache import CompletionCache
from archon_cli.llm.client import LLMClient
from archon_cli.llm.session import default_cache_path
from archon_cli.sandbox import pool as sandbox_pool
from archon_cli.serve.app import create_app
from archon_cli.serve.server import listen
from archon_cli.serve.service import ChatService, Limits
from archon_cli.serve.sources import Served, shared_models

APP_NAME = "archon-serve"
REPLICA_HEADER = b"x-archon-replica"


class ReplicaHeader:
    """ASGI middleware: every HTTP response carries `x-archon-replica: <replica id>`."""

    def __init__(self, app: ASGIApp, replica: str) -> None:
        self.app, self.replica = app, replica.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (REPLICA_HEADER, self.replica)]}
            await send(message)

        await self.app(scope, receive, tagged)


class ServeReplica:
    """One Ray Serve replica (wrapped by `serve.ingress()` in `deploy`): the app over its own LLM
    client, whose engine calls go to the supervised engine replicas all serve replicas share."""

    def __init__(self, served: list[Served], supervisor: Any, limits: Limits, api_key: str | None,
                 cache_path: str | None) -> None:
        from ray import serve

        yield_cpu_to_engines()  # it waits on HTTP to the engines, as a trial task does
        sandbox_pool.run_on_ray()  # generated code runs as Ray tasks, spread like a trial's
        models, served = shared_models(served)
        cache = CompletionCache(Path(cache_path)) if cache_path else None
        client = LLMClient(models, RayEngines(supervisor), cache)
        client.prewarm()
        self.service = ChatService(served, client, limits)
        self.api_key = api_key
        self.replica = serve.get_replica_context().replica_id.unique_id

    def __serve_build_asgi_app__(self) -> ASGIApp:
        app = create_app(self.service, self.api_key)
        app.add_middleware(ReplicaHeader, replica=self.replica)
        return app


def require_serve() -> None:
    try:
        import ray.serve  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(
            f"--replicas/--ray-address need Ray Serve, which does not import here ({exc}); "
            "`make setup` installs what it needs (grpcio, grpcio-reflection from requirements.lock); "
            "without those flags `archon serve` runs in one process") from None


def deploy(served: list[Served], supervisor: Any, *, limits: Limits, api_key: str | None, cache_path: str | None,
           replicas: int, drain_s: float) -> Any:
    from ray import serve

    ingress = serve.ingress()(ServeReplica)
    # Replicas reserve no CPU: they wait on HTTP to the engines, which hold the CPUs and GPUs.
    # Ray Serve sends a replica at most `max_queue` requests at once; more wait at its proxy.
    deployment = serve.deployment(name="archon", num_replicas=replicas, ray_actor_options={"num_cpus": 0},
                                  max_ongoing_requests=limits.max_queue, graceful_shutdown_timeout_s=max(drain_s, 1.0),
                                  health_check_period_s=10.0)(ingress)
    return deployment.bind(served, supervisor, limits, api_key, cache_path)


def serve_on_ray(served: list[Served], *, host: str, port: int, limits: Limits, api_key: str | None,
                 use_cache: bool, replicas: int, ray_address: str | None, drain_s: float = 30.0,
                 on_ready: Callable[[str], None] = lambda url: None) -> None:
    """Serve until a signal, as a Ray Serve application of `replicas` replicas."""
    require_serve()
    import ray
    from ray import serve

    if ray_address is not None and port == 0:
        raise ConfigError("--port 0 with --ray-address: give the port Ray Serve's proxies listen on")
    if ray_address is None and port != 0:
        listen(host, port).close()  # a busy port fails now, not in a proxy actor's log
    elif ray_address is None:
        with listen(host, 0) as probe:  # Ray Serve's proxy needs a number
            port = probe.getsockname()[1]
    models, _ = shared_models(served)
    stop = threading.Event()
    logging.getLogger("ray.serve").setLevel(logging.WARNING)
    supervisor, owns_serve, deployed, previous = None, False, False, {}
    try:
        cluster = init_ray(ray_address)
        # After ray.init, whose core worker installs a SIGTERM handler that exits at once.
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
        owns_serve = not _serve_running()
        supervisor = start_supervisor(models, multi_node=len(cluster["nodes"]) > 1)
        ray.get(supervisor.info.remote())  # returns once every engine replica has started
        if stop.is_set():
            return
        cache_path = str(default_cache_path()) if use_cache else None
        serve.start(http_options={"host": host, "port": port},
                    logging_config={"log_level": "WARNING", "enable_access_log": False})
        serve.run(deploy(served, supervisor, limits=limits, api_key=api_key, cache_path=cache_path,
                         replicas=replicas, drain_s=drain_s), name=APP_NAME, route_prefix="/",
                  logging_config={"log_level": "WARNING", "enable_access_log": False})
        deployed = True
        on_ready(_proxy_url())
        while not stop.wait(0.5):
            pass
    finally:
        try:
            if deployed or owns_serve:
                _take_down(owns_serve)
            if supervisor is not None:
                ray.get(supervisor.stop.remote())
        finally:
            if ray_address is None and ray.is_initialized():
                ray.shutdown()
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _serve_running() -> bool:
    """Whether Ray Serve already runs on the cluster (someone else's applications)."""
    from ray.serve.context import _connect

    return _connect(raise_if_no_controller_running=False) is not None


def _proxy_url() -> str:
    """Where Ray Serve's proxy listens: ours, or those of a Serve already running on the cluster
    (which keeps its own --host/--port)."""
    from ray.serve.context import _connect

    http = _connect().http_config
    shown = f"[{http.host}]" if ":" in http.host else http.host
    return f"http://{shown}:{http.port}/v1"


def _take_down(owns_serve: bool) -> None:
    from ray import serve

    if owns_serve:
        serve.shutdown()
        return
    serve.delete(APP_NAME)
    if not serve.status().applications:
        serve.shutdown()

