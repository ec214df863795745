"""Run dirs are private (0700 folders, 0600 files) and their log passes the redactor."""

from __future__ import annotations

from pathlib import Path

import pytest

from archon_cli.runs import RunDir


def test_run_dir_and_its_files_are_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOME_PROVIDER_API_KEY", "abcdef-secret-123")
    run = RunDir.create(tmp_path / "runs", "t")
    run.write_json(run.trial_dir(0) / "metrics.json", {"ok": True})
    run.log("trial 0 failed: 401 Authorization: Bearer abcdef-secret-123")
    assert run.path.stat().st_mode & 0o777 == 0o700
    assert run.trial_dir(0).stat().st_mode & 0o777 == 0o700
    for f in (run.log_txt, run.trial_dir(0) / "metrics.json"):
        assert f.stat().st_mode & 0o777 == 0o600, f
    assert "abcdef-secret-123" not in run.log_txt.read_text()
    assert "Authorization: ***" in run.log_txt.read_text()
