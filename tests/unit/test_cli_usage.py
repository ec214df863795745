"""Usage errors are one message and exit 2, never a traceback; `--version` prints the version."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml

from archon_cli.cli.app import main
from tests.conftest import fake_pipeline
from tests.fakes import FakeLLM

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("argv", "says"), [
    (["serch", "x.yaml"], "No such command 'serch'. Did you mean 'search'"),
    (["search", "x.yaml", "--trails", "3"], "No such option: --trails"),
    (["run"], "Missing argument"),
    (["replay", "runs", "--limit", "0"], "Invalid value for '--limit'"),
    (["search", "x.yaml", "--executor", "gpu"], "Invalid value for '--executor'"),
    (["replay", "runs", "--split", "train"], "Invalid value for '--split'"),
    (["replay", "runs", "--pick", "worst"], "Invalid value for '--pick'"),
    (["export", "runs", "--pick", "worst"], "Invalid value for '--pick'"),
    (["serve", "runs", "--pick", "worst"], "Invalid value for '--pick'"),
    (["score", "arithmetic", "-p", "x.jsonl", "--judge-mode", "duo"], "Invalid value for '--judge-mode'"),
    (["scale", "x.yaml", "-d", "arithmetic", "--scorer", "exactt"], "did you mean 'exact'"),
])
def test_each_usage_error_class_is_one_message_and_exit_2(argv: list[str], says: str,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert says in " ".join(err.split()) and "Traceback" not in err
    assert len([line for line in err.splitlines() if line.strip()]) <= 4  # usage, hint, error


def test_version_and_a_usage_error_through_the_real_entry_point() -> None:
    exe = Path(sys.executable).parent / "archon"
    done = subprocess.run([str(exe), "--version"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == f"archon-cli {version('archon-cli')}"
    bad = subprocess.run([str(exe), "serch"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "serch" in bad.stderr


def test_every_command_is_listed_with_its_own_help_and_help_imports_no_command() -> None:
    import importlib

    import typer

    from archon_cli.cli.app import COMMANDS

    for name, (module, short) in COMMANDS.items():
        commands = typer.Typer()
        importlib.import_module(f"archon_cli.cli.{module}").register(commands)
        real = typer.main.get_group(commands).commands[name]
        assert " ".join((real.help or "").split()) == short, name
    code = ("import sys; from archon_cli.cli.app import main; main(['--help']); "
            "print(sorted(m for m in sys.modules if m.startswith('archon_cli.')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    loaded = done.stdout.strip().splitlines()[-1]
    assert "archon_cli.cli.search" not in loaded and "archon_cli.config" not in loaded, loaded


def test_runs_on_a_missing_directory_is_an_error_not_an_empty_table(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", str(tmp_path / "nope")]) == 2
    assert "no such directory" in capsys.readouterr().err


def test_a_misspelt_scorer_is_a_usage_error_before_any_engine_starts(tmp_path: Path, fake_llm: type[FakeLLM],
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    pipe = tmp_path / "p.yaml"
    pipe.write_text(yaml.safe_dump(fake_pipeline([{"type": "generator", "model": "m"}])))
    assert main(["eval", str(pipe), "--dataset", "arithmetic", "--scorer", "numerc"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "'numerc' is not a scorer; did you mean 'numeric'?" in err and "Traceback" not in err
    assert fake_llm.calls == []


@pytest.mark.parametrize(("command", "shows"), [
    (["eval"], ["numeric", "code_tests", "single|pairwise"]),
    (["replay"], ["best|top|cheapest|knee", "test|search", "--json"]),
    (["export"], ["best|top|cheapest|knee"]),
    (["search"], ["local|ray"]),
    ([], ["--install-completion"]),
])
def test_help_lists_the_choices(command: list[str], shows: list[str], monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    main([*command, "--help"])
    out = capsys.readouterr().out
    for text in shows:
        assert text in out, text


def test_shell_completion_completes_lazy_commands_and_choices() -> None:
    exe = Path(sys.executable).parent / "archon"

    def complete(words: str) -> list[str]:
        env = os.environ | {"_ARCHON_COMPLETE": "complete_bash", "COMP_WORDS": words,
                            "COMP_CWORD": str(len(words.split()) - 1)}
        done = subprocess.run([str(exe)], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    assert complete("archon rep") == ["replay"]
    assert complete("archon eval --scorer nu") == ["numeric"]
    assert complete("archon replay r --pick c") == ["cheapest"]
