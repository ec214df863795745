"""Full disks, read-only file systems and I/O errors: one line naming the path, exit 1, no
traceback; `eval -o` shows the result before writing; files already written stay intact."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import pytest

from archon_cli.cli.app import main
from archon_cli.errors import StorageError
from archon_cli.fsutil import atomic_write_text, storage_failure
from archon_cli.llm.cache import CompletionCache
from archon_cli.llm.providers.base import RawCompletion
from tests.conftest import fake_pipeline
from tests.disks import fill, tmpfs
from tests.search_helpers import search_config


@pytest.fixture
def pipeline(tmp_path: Path) -> Path:
    import yaml

    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(fake_pipeline([{"type": "generator", "model": "m"}])))
    return path


def one_clear_line(err: str, path: Path | str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("error:") and str(path) in " ".join(err.split()), err
    assert "Traceback" not in err


def test_eval_output_on_a_full_disk_prints_the_result_first(tmp_path: Path, pipeline: Path, fake_llm: object,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    with tmpfs(tmp_path / "disk") as disk:
        out = disk / "preds.jsonl"
        fill(disk)
        code = main(["eval", str(pipeline), "--dataset", "arithmetic", "--limit", "3", "--no-cache", "-o", str(out)])
        std = capsys.readouterr()
        assert code == 1
        assert "accuracy" in std.out  # the finished evaluation is not thrown away
        one_clear_line(std.err, out)
        assert "no space left on device" in std.err
        assert sorted(p.name for p in disk.iterdir()) == ["filler"]  # no half-written or temp file


def test_atomic_write_on_a_full_disk_keeps_the_old_file(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk") as disk:
        target = disk / "metrics.json"
        atomic_write_text(target, "old\n")
        fill(disk)
        with pytest.raises(StorageError, match=r"metrics\.json: no space left on device"):
            atomic_write_text(target, "new " * 20000)
        assert target.read_text() == "old\n"
        assert sorted(p.name for p in disk.iterdir()) == ["filler", "metrics.json"]


@pytest.mark.parametrize("existing", [False, True], ids=["new-cache", "existing-cache"])
def test_cache_on_a_full_disk(tmp_path: Path, pipeline: Path, fake_llm: object, existing: bool,
                              capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    with tmpfs(tmp_path / "disk", size="256k") as disk:
        monkeypatch.setenv("ARCHON_CACHE_DIR", str(disk))
        if existing:
            CompletionCache(disk / "llm_cache.db").put("k", RawCompletion("kept", 1, 1))
        fill(disk)
        code = main(["eval", str(pipeline), "--dataset", "arithmetic", "--limit", "20"])
        std = capsys.readouterr()
        assert code == 1
        one_clear_line(std.err, disk / "llm_cache.db")
        assert "full" in std.err or "no space" in std.err
        (disk / "filler").unlink()
        if existing:  # the entries stored before are intact, and the cache works again
            cache = CompletionCache(disk / "llm_cache.db")
            got = cache.get("k")
            assert got is not None and got.text == "kept"
    # after freeing space the same command succeeds (nothing was left corrupt)


def test_search_on_a_full_disk_names_the_path(tmp_path: Path, fake_llm: object,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    with tmpfs(tmp_path / "disk") as disk:
        cfg = search_config(tmp_path, trials=1, size=6, search_size=2)
        text = cfg.read_text().replace(str(tmp_path / "runs"), str(disk / "runs"))
        cfg.write_text(text)
        fill(disk)
        code = main(["search", str(cfg)])
        std = capsys.readouterr()
        assert code == 1
        one_clear_line(std.err, disk / "runs")  # the run dir is printed first
        # Optuna's SQLAlchemy error does not say which file; the study's owner can wrap it in
        # fsutil.storage_errors(run.study_db) to name it (see the report of issue 16).
        assert "database or disk is full" in std.err or "no space left on device" in std.err


def test_read_only_cache_dir(tmp_path: Path, pipeline: Path, fake_llm: object, capsys: pytest.CaptureFixture[str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    with tmpfs(tmp_path / "ro", read_only=True) as ro:
        monkeypatch.setenv("ARCHON_CACHE_DIR", str(ro / "cache"))
        assert main(["eval", str(pipeline), "--dataset", "arithmetic", "--limit", "2"]) == 1
        std = capsys.readouterr()
        one_clear_line(std.err, ro / "cache")
        assert "read-only file system" in std.err


@pytest.mark.parametrize(("exc", "text"), [
    (OSError(errno.EIO, "Input/output error", "/data/x"), "/data/x: input/output error"),
    (OSError(errno.EACCES, "Permission denied", "/data/y"), "/data/y: permission denied"),
    (sqlite3.OperationalError("database or disk is full"), "SQLite database: database or disk is full"),
])
def test_storage_failures_are_recognised_through_wrappers(exc: BaseException, text: str) -> None:
    class Wrapper(Exception):  # SQLAlchemy's OperationalError keeps the driver's error as `.orig`
        orig = exc

    for raised in (exc, Wrapper("wrapped")):
        found = storage_failure(raised)
        assert found is not None and str(found) == text
    assert storage_failure(ValueError("x")) is None
    assert storage_failure(OSError(errno.ECONNREFUSED, "refused")) is None
