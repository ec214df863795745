from __future__ import annotations

import multiprocessing
from pathlib import Path

from archon_cli.llm.cache import CompletionCache, cache_key
from archon_cli.llm.providers.base import RawCompletion


def test_key_covers_model_messages_sampling() -> None:
    msgs = [{"role": "user", "content": "hi"}]
    base = cache_key("m", msgs, {"temperature": 0.7, "sample": 0})
    assert base == cache_key("m", msgs, {"sample": 0, "temperature": 0.7})
    assert base != cache_key("m2", msgs, {"temperature": 0.7, "sample": 0})
    assert base != cache_key("m", [{"role": "user", "content": "hi!"}], {"temperature": 0.7, "sample": 0})
    assert base != cache_key("m", msgs, {"temperature": 0.7, "sample": 1})


def _writer(path: str, worker: int) -> None:
    cache = CompletionCache(Path(path))
    for i in range(200):
        cache.put(f"k{i}", RawCompletion(f"from {worker}", i, i))
        assert cache.get(f"k{i}") is not None


def test_several_processes_share_one_cache(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    procs = [multiprocessing.get_context("spawn").Process(target=_writer, args=(str(path), w)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    cache = CompletionCache(path)
    assert len(cache) == 200
    first = cache.get("k5")
    assert first is not None and first.prompt_tokens == 5


def test_cache_files_are_private(tmp_path: Path) -> None:
    """Prompts and answers are the user's: 0600 files (the WAL too) in a 0700 folder."""
    path = tmp_path / "new" / "c.db"
    cache = CompletionCache(path)
    cache.put("k", RawCompletion("t", 1, 1))
    assert path.parent.stat().st_mode & 0o777 == 0o700
    for p in path.parent.iterdir():
        assert p.stat().st_mode & 0o777 == 0o600, p


def test_a_world_readable_cache_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    CompletionCache(path).put("k", RawCompletion("t", 1, 1))
    path.chmod(0o644)
    assert CompletionCache(path).get("k") is not None
    assert path.stat().st_mode & 0o777 == 0o600
