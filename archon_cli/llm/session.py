"""One place that wires engines, cache and client together for a command."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from archon_cli.config.pipeline import ModelSpec
from archon_cli.llm.cache import CompletionCache
from archon_cli.llm.client import LLMClient
from archon_cli.llm.credentials import require_credentials
from archon_cli.llm.engines.manager import Engines
from archon_cli.llm.paths import cache_dir


def default_cache_path() -> Path:
    """`$ARCHON_CACHE_DIR/llm_cache.db`, else the user's cache dir (shared by all runs)."""
    return cache_dir() / "llm_cache.db"


@contextmanager
def open_client(models: dict[str, ModelSpec], *, use_cache: bool = True,
                cache_path: Path | None = None) -> Iterator[LLMClient]:
    """The client every command calls through; a hosted model without its key stops here (exit
    2), before a cache, an engine or a call."""
    require_credentials(models)
    cache = CompletionCache(cache_path or default_cache_path()) if use_cache else None
    with Engines() as engines:
        client = LLMClient(models, engines, cache)
        client.prewarm()
        yield client
