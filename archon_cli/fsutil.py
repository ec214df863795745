"""File writes the tool's state depends on: atomic replaces, private files and folders, and one
translation of disk-full / I/O / permission failures into a StorageError naming the path.

Private = 0600 files in 0700 folders: run dirs, the LLM cache and engine logs hold prompts and
answers, which are the user's data, not the machine's.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from archon_cli.errors import StorageError

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700

# OS errors that are the storage's fault, not a bug: reported as one line naming the path.
STORAGE_ERRNOS = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded",
                  errno.EIO: "input/output error", errno.EROFS: "read-only file system",
                  errno.EACCES: "permission denied", errno.EPERM: "operation not permitted",
                  errno.ENOTDIR: "a parent is not a directory", errno.EISDIR: "is a directory",
                  errno.ENAMETOOLONG: "file name too long", errno.EFBIG: "file too large"}
# sqlite reports the same faults as OperationalError texts.
SQLITE_STORAGE = ("database or disk is full", "disk i/o error", "readonly database", "unable to open database",
                  "disk image is malformed")


def private_dir(path: Path) -> Path:
    """`path` (and missing parents) created 0700; an existing folder keeps its mode."""
    with storage_errors(path):
        path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    return path


def atomic_write_text(path: Path, text: str) -> None:
    """Write all of `text` or nothing: a 0600 temp file in the same folder, fsync, rename. On a
    full disk the old file (if any) stays as it was and the temp file is removed."""
    with storage_errors(path):
        path.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def append_private(path: Path, text: str) -> None:
    """Append to a file created 0600 (a log)."""
    with storage_errors(path):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE)
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            f.write(text)


@contextmanager
def storage_errors(path: Path) -> Iterator[None]:
    """Turn a storage failure inside the block into a StorageError naming `path`."""
    try:
        yield
    except (OSError, sqlite3.Error) as exc:
        if (err := storage_failure(exc, path)) is None:
            raise
        raise err from None


def storage_failure(exc: BaseException, path: Path | str | None = None) -> StorageError | None:
    """The StorageError an exception stands for (looking through wrappers such as SQLAlchemy's
    `.orig` and chained causes), or None when it is not a storage failure."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, StorageError):
            return current
        if isinstance(current, OSError) and current.errno in STORAGE_ERRNOS:
            where = path or current.filename or "?"
            return StorageError(f"{where}: {STORAGE_ERRNOS[current.errno]}")
        if isinstance(current, sqlite3.Error):
            text = str(current).lower()
            if any(s in text for s in SQLITE_STORAGE):
                return StorageError(f"{path or 'SQLite database'}: {text}")
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else (current.__cause__ or current.__context__)
    return None
