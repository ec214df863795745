"""Where the LLM layer keeps its files: the user cache dir (the completion cache, engine logs)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from archon_cli.fsutil import private_dir


def cache_dir() -> Path:
    """`$ARCHON_CACHE_DIR`, else `$XDG_CACHE_HOME/archon-cli`, else `~/.cache/archon-cli`."""
    root = os.environ.get("ARCHON_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "archon-cli")
    return Path(root)


def engine_log(prefix: str) -> tuple[int, Path]:
    """A new private log file (0600) for one engine process under the cache dir, not the shared
    system temp dir; the engine deletes it when it stops cleanly. Returns (fd, path)."""
    folder = private_dir(cache_dir() / "engine-logs")
    fd, name = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=".log")
    return fd, Path(name)
