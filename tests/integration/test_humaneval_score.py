"""`archon score humaneval` executes the hidden tests for real, in the sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archon_cli.cli.app import main
from archon_cli.tasks.humaneval import HumanEval

pytestmark = pytest.mark.integration


def write_predictions(path: Path, broken: bool) -> Path:
    lines = []
    for ex in HumanEval().load():
        code = ex.meta["prompt"] + ex.meta["canonical_solution"]
        if broken:  # same behaviour, except that the return value is garbage
            ep = ex.entry_point
            code += (f"\n\n_real = {ep}\n\n\ndef {ep}(*args, **kwargs):\n"
                     "    _real(*args, **kwargs)\n    return object()\n")
        lines.append(json.dumps({"id": ex.id, "output": f"Here is the solution:\n```python\n{code}```\n"}))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_canonical_solutions_pass_all(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "humaneval", "--predictions", str(write_predictions(tmp_path / "p.jsonl", False))]) == 0
    assert "164/164" in capsys.readouterr().out


def test_broken_return_values_pass_none(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "humaneval", "--predictions", str(write_predictions(tmp_path / "p.jsonl", True))]) == 0
    assert "0/164" in capsys.readouterr().out


def test_a_bad_predictions_line_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "HumanEval/0", "output": "x"}\n{"id": "HumanEval/1"}\n')
    assert main(["score", "humaneval", "--predictions", str(bad)]) == 2
    assert "bad.jsonl:2" in capsys.readouterr().err
