"""`archon serve PIPELINE.yaml... | RUN_DIR`: an OpenAI-compatible chat-completions endpoint."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from archon_cli.cli.output import console, styled
from archon_cli.errors import ConfigError
from archon_cli.search.results import PICK_HELP, Pick
from archon_cli.serve.ray_serve import serve_on_ray
from archon_cli.serve.server import serve as run_server
from archon_cli.serve.service import Limits
from archon_cli.serve.sources import load_sources


def register(app: typer.Typer) -> None:
    app.command()(serve)


def serve(
    sources: Annotated[list[Path], typer.Argument(help="pipeline YAMLs (each served under its `name`) or a run dir")],
    pick: Annotated[Pick, typer.Option("--pick", help=PICK_HELP)] = "best",
    trial: Annotated[int | None, typer.Option("--trial", help="run dir: this trial (overrides --pick)")] = None,
    host: Annotated[str, typer.Option("--host", help="address to bind (other machines: 0.0.0.0)")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="0: any free port")] = 8000,
    api_key_env: Annotated[str | None, typer.Option(
        "--api-key-env", help="name of an environment variable holding the key clients must send as Bearer")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="call the engines even for cached requests")] = False,
    max_queue: Annotated[int, typer.Option("--max-queue", min=1, help="requests in flight at once; more get 429")] = 64,
    max_body_bytes: Annotated[int, typer.Option("--max-body-bytes", min=1024, help="larger bodies get 413")] = 1 << 20,
    max_messages: Annotated[int, typer.Option("--max-messages", min=1, help="more messages get 400")] = 256,
    drain_s: Annotated[float, typer.Option("--drain-s", min=0, help="on Ctrl-C/SIGTERM, wait this long for "
                                           "in-flight requests, then cancel them")] = 30.0,
    replicas: Annotated[int | None, typer.Option("--replicas", min=1, help="run as a Ray Serve deployment with "
                                                 "this many replicas")] = None,
    ray_address: Annotated[str | None, typer.Option("--ray-address", help="Ray Serve on this cluster")] = None,
) -> None:
    """Serve pipelines as an OpenAI-compatible API (POST /v1/chat/completions, /v1/models, /health, /metrics)."""
    api_key = _api_key(api_key_env)
    served = load_sources(sources, pick, trial)
    limits = Limits(max_queue=max_queue, max_body_bytes=max_body_bytes, max_messages=max_messages)
    err = console(stderr=True)
    for s in served:
        err.print(styled("model ", (s.name, "bold"), f" ← {s.source}"))

    if replicas is not None or ray_address is not None:
        n = replicas or 1

        def ready_on_ray(url: str) -> None:
            err.print(f"listening on {url} (Ray Serve, {n} replica{'s' * (n > 1)}; Ctrl-C drains and stops)",
                      markup=False, soft_wrap=True)

        serve_on_ray(served, host=host, port=port, limits=limits, api_key=api_key, use_cache=not no_cache,
                     replicas=n, ray_address=ray_address, drain_s=drain_s, on_ready=ready_on_ray)
        return

    def ready(url: str) -> None:
        err.print(f"listening on {url} (Ctrl-C drains and stops)")

    run_server(served, host=host, port=port, limits=limits, api_key=api_key, use_cache=not no_cache,
               drain_s=drain_s, on_ready=ready)


def _api_key(env_name: str | None) -> str | None:
    if env_name is None:
        return None
    key = os.environ.get(env_name)
    if not key:
        raise ConfigError(f"--api-key-env {env_name}: the environment variable is not set or empty")
    return key
