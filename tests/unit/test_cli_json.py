"""`--json` prints one JSON document on stdout and nothing else; text output prints text as text
(no rich markup), and `archon datasets` stays readable at 80 columns."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from archon_cli.cli.app import main
from archon_cli.tasks import DATASETS, SCORERS
from archon_cli.tasks.loading import load_examples
from tests.conftest import fake_pipeline
from tests.fakes import FakeLLM
from tests.search_helpers import only_run, search_config

ROOT = Path(__file__).resolve().parents[2]


def solver(messages: list[dict[str, str]], sampling: dict[str, Any]) -> str:
    import re

    m = re.search(r"What is (\d+) ([+-]) (\d+)\?", messages[-1]["content"])
    if not m:
        return "The answer is 7."
    a, op, b = int(m[1]), m[2], int(m[3])
    return f"The answer is {a + b if op == '+' else a - b if a % 2 == 0 else 0}."


def json_out(argv: list[str], capsys: pytest.CaptureFixture[str], code: int = 0) -> Any:
    assert main(argv) == code
    return json.loads(capsys.readouterr().out)  # the whole of stdout is one document


def check_interval(est: dict[str, Any], n: int) -> None:
    assert est["n"] == n and est["low"] <= est["mean"] <= est["high"] and est["method"]


def test_show_runs_and_replay_print_one_json_document(tmp_path: Path, fake_llm: type[FakeLLM],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    fake_llm.reset(solver)
    cfg = search_config(tmp_path, trials=4, search_size=5, size=12, objectives=["accuracy", "calls"])
    assert main(["search", str(cfg), "--no-verdict"]) == 0
    run = only_run(tmp_path)
    capsys.readouterr()

    shown = json_out(["show", str(run), "--json"], capsys)
    assert shown["run_dir"] == str(run) and shown["cost"] == "calls_per_query"
    assert shown["summary"]["trials"] == len(shown["trials"]) >= 4
    best = next(r for r in shown["trials"] if r["number"] == shown["best"])
    assert best["vs_best"] == "best" and best["accuracy_low"] <= best["accuracy"] <= best["accuracy_high"]
    assert set(shown["pareto_front"]) <= {r["number"] for r in shown["trials"]}
    assert shown["verdict"] is None  # --no-verdict

    listed = json_out(["runs", str(tmp_path / "runs"), "--json"], capsys)
    assert [r["run_dir"] for r in listed["runs"]] == [str(run)]
    assert listed["runs"][0]["trials"] == len(shown["trials"]) and listed["runs"][0]["error"] is None
    assert listed["runs"][0]["best_accuracy"] == best["accuracy"]

    replayed = json_out(["replay", str(run), "--limit", "4", "--json"], capsys)
    assert replayed["trial"] == shown["best"] and replayed["split"] == "test" and replayed["examples"] == 4
    check_interval(replayed["accuracy"], 4)
    assert replayed["failed"] == 0 and replayed["unscored"] == 0 and replayed["usage"]["calls"] > 0
    verdict = replayed["verdict"]
    assert verdict["n"] == 4 and verdict["baselines"][0]["label"] == "a single call"

    cheapest = json_out(["replay", str(run), "--pick", "cheapest", "--split", "search", "--no-baselines",
                         "--json"], capsys)
    front = [r for r in shown["trials"] if r["number"] in shown["pareto_front"]]
    assert cheapest["trial"] == min(front, key=lambda r: r["calls_per_query"])["number"]
    assert cheapest["verdict"] is None and cheapest["examples"] == 5


def test_replay_text_keeps_its_lines_and_an_error_leaves_stdout_empty(tmp_path: Path, fake_llm: type[FakeLLM],
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    fake_llm.reset(solver)
    assert main(["search", str(search_config(tmp_path, trials=2, search_size=4, size=8)), "--no-verdict"]) == 0
    run = only_run(tmp_path)
    capsys.readouterr()
    assert main(["replay", str(run), "--limit", "2", "--no-baselines"]) == 0
    out = capsys.readouterr().out
    assert "on the test split: accuracy" in out and "summed call latency" in out
    assert main(["replay", str(run), "--trial", "99", "--json"]) == 2
    done = capsys.readouterr()
    assert done.out == "" and "no trial 99" in done.err


def test_score_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    examples, _ = load_examples("arithmetic", limit=4)
    examples = examples[:4]
    preds = tmp_path / "preds.jsonl"
    answers = [ex.reference for ex in examples[:2]] + ["nope", None]
    lines = [json.dumps({"id": ex.id, "output": a}) + "\n" for ex, a in zip(examples, answers, strict=True)]
    preds.write_text("".join(lines))
    doc = json_out(["score", "arithmetic", "-p", str(preds), "--json"], capsys)
    assert doc["scorer"] == "numeric" and doc["correct"] == 2 and doc["scored"] == 3 and doc["no_answer"] == 1
    assert doc["missing"] == doc["examples"] - 4 and doc["unscored"] == 0
    check_interval(doc["accuracy"], 3)
    assert doc["accuracy"]["mean"] == 2 / 3


def test_validate_and_datasets_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pipe = tmp_path / "p.yaml"
    pipe.write_text(yaml.safe_dump(fake_pipeline([{"type": "generator", "model": "m", "samples": 3}],
                                                 [{"type": "fuser", "model": "m"}])))
    doc = json_out(["validate", str(pipe), "--json"], capsys)
    assert doc == {"file": str(pipe), "valid": True, "kind": "pipeline", "name": "test", "layers": 2,
                   "calls_per_query": 4, "exact": True, "calls_per_layer": [3, 1]}
    cfg = json_out(["validate", str(ROOT / "configs/quickstart.yaml"), "--json"], capsys)
    assert cfg["kind"] == "search_config" and cfg["space"]["size"] == cfg["space"]["feasible"] > 0
    assert cfg["task"]["dataset"] == "arithmetic" and cfg["budget"]["calls_per_query"] and cfg["warnings"] == []
    space = tmp_path / "hot.yaml"
    space.write_text("name: hot\nmodels: {m: {model: fake/x}}\nlayers:\n"
                     "  - component: {type: generator, params: {samples: {choices: [1, 3]}, temperature: 0.7}}\n")
    hot = json_out(["validate", str(space), "--json"], capsys)
    assert hot["kind"] == "space" and hot["warnings"]  # no greedy single call in this space

    listed = json_out(["datasets", "--json"], capsys)
    assert [d["name"] for d in listed["datasets"]] == [name for name, _ in DATASETS]
    assert listed["scorers"] == SCORERS.names()
    assert {"size", "scorer", "license", "description"} <= set(listed["datasets"][0])


def test_datasets_is_readable_at_80_columns(monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["datasets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 80
    words = " ".join(lines).split()
    for name, cls in DATASETS:
        assert name in words and cls.default_scorer in words  # whole, never cut or wrapped
        for word in cls.description.split():  # wrapped at word boundaries: every word whole
            assert word in words, word
    assert all(name.rstrip(",") in " ".join(words) for name in SCORERS.names())


def test_answers_and_errors_print_verbatim(tmp_path: Path, fake_llm: type[FakeLLM],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    answer = "[bold]not bold[/] [/x] :smile: " + "/a/very/long/path" * 12
    fake_llm.reset(lambda _m, _s: answer)
    pipe = tmp_path / "p.yaml"
    pipe.write_text(yaml.safe_dump(fake_pipeline([{"type": "generator", "model": "m"}])))
    assert main(["run", str(pipe), "--prompt", "hi"]) == 0
    assert capsys.readouterr().out == answer + "\n"  # no markup, no emoji, no newline inside
    odd = tmp_path / "a[/x]b[bold].yaml"
    assert main(["validate", str(odd)]) == 2
    err = capsys.readouterr().err
    assert str(odd) in err and err.startswith("error: ")


@pytest.mark.skipif(__import__("importlib").util.find_spec("vllm") is not None, reason="vLLM is installed")
def test_an_install_hint_prints_verbatim_through_the_real_entry_point(tmp_path: Path) -> None:
    pipe = tmp_path / "p.yaml"
    pipe.write_text(yaml.safe_dump({"name": "v", "models": {"m": {"model": "vllm/org/model"}},
                                    "layers": [[{"type": "generator", "model": "m"}]]}))
    exe = Path(sys.executable).parent / "archon"
    done = subprocess.run([str(exe), "run", str(pipe), "--prompt", "hi"], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "pip install 'archon-cli[vllm]'" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""
