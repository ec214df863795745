"""SQLite cache of completions keyed by (model identity, messages, sampling params, sample index).

Safe for several processes at once: WAL journal, a busy timeout, and INSERT OR IGNORE (two
processes that computed the same entry keep the first). One short transaction per write.
The file is private (0600 in a 0700 folder: it holds prompts and answers; SQLite gives its WAL
and shared-memory files the database's mode). A full disk, an I/O error or a file the user may
not write is a StorageError naming the file; entries already stored stay intact.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

from archon_cli.fsutil import PRIVATE_FILE, private_dir, storage_errors
from archon_cli.llm.providers.base import RawCompletion


def cache_key(identity: str, messages: list[dict[str, str]], sampling: dict[str, Any]) -> str:
    """`identity` is the provider's: whatever names the weights (a GGUF file, a hosted model
    string, or a model string with its `api_base` for servers the user runs)."""
    blob = json.dumps([identity, messages, sampling], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


class CompletionCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        private_dir(path.parent)
        with storage_errors(path):
            fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)  # created 0600, before SQLite
            try:
                if os.fstat(fd).st_mode & 0o077 and os.fstat(fd).st_uid == os.getuid():
                    os.fchmod(fd, PRIVATE_FILE)  # a cache an older version left readable to all
            finally:
                os.close(fd)
        self._local = threading.local()
        with storage_errors(path):
            self._conn().execute(
                "CREATE TABLE IF NOT EXISTS completions (key TEXT PRIMARY KEY, text TEXT NOT NULL,"
                " prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL)"
            )

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def get(self, key: str) -> RawCompletion | None:
        with storage_errors(self.path):
            row = self._conn().execute(
                "SELECT text, prompt_tokens, completion_tokens FROM completions WHERE key = ?", (key,)
            ).fetchone()
        return RawCompletion(*row) if row else None

    def put(self, key: str, value: RawCompletion) -> None:
        with storage_errors(self.path):
            self._conn().execute(
                "INSERT OR IGNORE INTO completions VALUES (?, ?, ?, ?)",
                (key, value.text, value.prompt_tokens, value.completion_tokens),
            )

    def __len__(self) -> int:
        with storage_errors(self.path):
            return int(self._conn().execute("SELECT COUNT(*) FROM completions").fetchone()[0])
