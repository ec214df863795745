"""SQLite cache of completions keyed by (model identity, messages, sampling params, sample index).

Safe for several processes at once: WAL journal, a busy timeout, and INSERT OR IGNORE (two
processes that computed the same entry keep the first). One short transaction per write.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from archon_cli.llm.providers.base import RawCompletion


def cache_key(identity: str, messages: list[dict[str, str]], sampling: dict[str, Any]) -> str:
    blob = json.dumps([identity, messages, sampling], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


class CompletionCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._conn() as conn:
            conn.execute(
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
        row = self._conn().execute(
            "SELECT text, prompt_tokens, completion_tokens FROM completions WHERE key = ?", (key,)
        ).fetchone()
        return RawCompletion(*row) if row else None

    def put(self, key: str, value: RawCompletion) -> None:
        self._conn().execute(
            "INSERT OR IGNORE INTO completions VALUES (?, ?, ?, ?)",
            (key, value.text, value.prompt_tokens, value.completion_tokens),
        )

    def __len__(self) -> int:
        return int(self._conn().execute("SELECT COUNT(*) FROM completions").fetchone()[0])
