"""One redactor for every error text: key variables, Authorization/Bearer, api-key headers and
sk- tokens never reach stdout, stderr, the run dir or any file. Against a fake server that
echoes the request's credentials in its 401 body (some providers do)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from archon_cli.cli.app import main
from archon_cli.redact import RedactingFilter, error_text, redact, register_key_env
from tests.fake_openai import fake_openai
from tests.search_helpers import search_config

KEY = "sk-test-SECRETSECRET0123456789"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with fake_openai() as base:
        yield base


@pytest.mark.parametrize("text", [
    "401: invalid credentials: Bearer abc.def-ghi_jkl",
    'headers={"Authorization": "Bearer abcdefgh12345"}',
    "authorization: Basic dXNlcjpwYXNz",
    "api-key: 0123456789abcdef sent",
    'x-api-key="AKIA0123456789"',
    "GET https://g.example/v1/models?key=AIzaSyA0123456789",
    "token sk-proj-abcdefghijklmnop in the body",
])
def test_credential_shapes_are_masked(text: str) -> None:
    masked = redact(text)
    assert "***" in masked
    for secret in ("abc.def-ghi_jkl", "abcdefgh12345", "dXNlcjpwYXNz", "0123456789abcdef", "AKIA0123456789",
                   "AIzaSyA0123456789", "sk-proj-abcdefghijklmnop"):
        assert secret not in masked


def test_values_of_key_variables_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "plainvalue-with-no-known-shape")
    monkeypatch.setenv("MY_ODD_NAME", "another-secret-value")
    register_key_env("MY_ODD_NAME")  # a model's api_key_env, whatever its name
    monkeypatch.setenv("HOME_DIR_LABEL", "not-a-secret-value")
    text = "echo: plainvalue-with-no-known-shape / another-secret-value / not-a-secret-value"
    assert redact(text) == "echo: *** / *** / not-a-secret-value"
    assert error_text(RuntimeError("a\n  b " + "x" * 400), limit=10) == "a b xxxxxx…"


def test_library_log_records_are_redacted() -> None:
    record = logging.LogRecord("LiteLLM", logging.ERROR, __file__, 1, "sent %s", ("Authorization: Bearer zzz123",),
                               None)
    assert RedactingFilter().filter(record) and record.getMessage() == "sent Authorization: ***"


def files_under(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_eval_against_a_server_echoing_the_key(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str], isolated_cache: Path) -> None:
    monkeypatch.setenv("ECHO_SERVER_KEY", KEY)
    pipe = tmp_path / "p.yaml"
    pipe.write_text(yaml.safe_dump({"models": {"m": {"model": "openai/echo", "api_base": url,
                                                     "api_key_env": "ECHO_SERVER_KEY"}},
                                    "layers": [[{"type": "generator", "model": "m"}]]}))
    out = tmp_path / "preds.jsonl"
    code = main(["eval", str(pipe), "--dataset", "arithmetic", "--limit", "2", "-o", str(out)])
    std = capsys.readouterr()
    assert code == 1  # every example failed (the server's 401): no accuracy, the cause on stderr
    assert "invalid credentials" in std.err
    assert "invalid credentials" in out.read_text()  # the provider's error is kept, its secret is not
    for where, blob in {"stdout": std.out.encode(), "stderr": std.err.encode(),
                        **files_under(tmp_path), **files_under(isolated_cache)}.items():
        assert KEY.encode() not in blob, where
        assert b"SECRETSECRET" not in blob, where


def test_search_run_dir_against_a_server_echoing_the_key(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """The run dir of issue 16 had the key in 11 files (log, study.db, trials.csv, metrics, predictions)."""
    monkeypatch.setenv("ECHO_SERVER_KEY", KEY)
    cfg_path = search_config(tmp_path, trials=2, size=6, search_size=2)
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["models"] = {"m": {"model": "openai/echo", "api_base": url, "api_key_env": "ECHO_SERVER_KEY"}}
    cfg_path.write_text(yaml.safe_dump(cfg))
    main(["search", str(cfg_path)])
    std = capsys.readouterr()
    run_files = files_under(tmp_path / "runs")
    assert any(p.name == "study.db" for p in run_files)
    assert any(b"invalid credentials" in blob for blob in run_files.values())  # the error did reach the run dir
    for where, blob in {"stdout": std.out.encode(), "stderr": std.err.encode(), **run_files}.items():
        assert b"SECRETSECRET" not in blob, where
