"""Coverage diagnostics: `archon eval`'s coverage and `archon scale`'s curves, on the fake LLM."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from archon_cli.cli.app import main
from archon_cli.coverage import ScalePoint, log_linear_fit, scale_curve
from tests.conftest import fake_pipeline
from tests.fakes import FakeLLM

# Question i's right answer is i; the sample with seed s answers (s * 3) % 8 + i - 2, so some
# questions are answered right by an early sample, some only by a later one.
QUESTIONS = [{"id": f"q{i}", "input": f"Question {i}: what is {i}?", "reference": str(i)} for i in range(6)]


def respond(messages: list[dict[str, str]], sampling: dict[str, Any]) -> str:
    text = messages[-1]["content"]
    if "Question" not in text:
        return "1"
    i = int(text.split("Question ")[1].split(":")[0])
    return f"The answer is {(sampling['seed'] * 3) % 8 + i - 2}."


@pytest.fixture
def task(tmp_path: Path) -> tuple[Path, Path]:
    data = tmp_path / "questions.jsonl"
    data.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    pipe = tmp_path / "pipe.yaml"
    pipe.write_text(yaml.safe_dump(fake_pipeline([{"type": "generator", "model": "m", "samples": 3}],
                                                 [{"type": "majority_vote"}])))
    return data, pipe


def test_eval_json_reports_coverage_of_the_first_layer(fake_llm: type[FakeLLM], task: tuple[Path, Path],
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    fake_llm.reset(respond)
    data, pipe = task
    pipe.write_text(yaml.safe_dump(fake_pipeline([{"type": "generator", "model": "m", "samples": 8}],
                                                 [{"type": "majority_vote"}])))
    assert main(["eval", str(pipe), "--dataset", str(data), "--scorer", "numeric", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    # The 8 seeds give 8 different answers, one of them right (seed 6): a perfect selector gets
    # every question, the vote (ties to the first sample) none.
    assert doc["coverage"]["mean"] == 1.0 and doc["accuracy"]["mean"] == 0.0
    assert doc["examples"] == 6 and doc["per_query"]["calls"] == 8.0


def test_scale_writes_png_and_json_with_coverage_non_decreasing(fake_llm: type[FakeLLM], task: tuple[Path, Path],
                                                                tmp_path: Path) -> None:
    fake_llm.reset(respond)
    data, pipe = task
    out = tmp_path / "scale"
    assert main(["scale", str(pipe), "--dataset", str(data), "--scorer", "numeric", "--samples", "1,2,4,8",
                 "-o", str(out)]) == 0
    doc = json.loads((out / "scale.json").read_text())
    coverage = [p["coverage"] for p in doc["points"]]
    assert [p["samples"] for p in doc["points"]] == [1, 2, 4, 8]
    assert coverage == sorted(coverage) and coverage[-1] == 1.0  # seed 6 answers i for every question
    assert coverage[0] == 0.0
    assert doc["usage"]["calls"] == 8 * len(QUESTIONS)  # the largest count once; smaller ones are its prefix
    assert (out / "scale.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    made = len(fake_llm.calls)
    # A generator with 4 samples now costs nothing: samples 0..3 were drawn and cached.
    pipe4 = tmp_path / "pipe4.yaml"
    pipe4.write_text(yaml.safe_dump(fake_pipeline([{"type": "generator", "model": "m", "samples": 4}])))
    assert main(["eval", str(pipe4), "--dataset", str(data)]) == 0
    assert len(fake_llm.calls) == made


def test_scale_rejects_a_first_layer_that_is_not_generators(fake_llm: type[FakeLLM], tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    pipe = tmp_path / "adaptive.yaml"
    pipe.write_text(yaml.safe_dump(fake_pipeline([{"type": "adaptive_vote", "model": "m"}])))
    assert main(["scale", str(pipe), "--dataset", "arithmetic", "--limit", "2"]) == 2
    assert "first layer of generators" in capsys.readouterr().err


def test_scale_curve_takes_each_generators_first_n_samples() -> None:
    # Two generators of 2 samples: [a0, a1, b0, b1]; only b1 is right.
    points = scale_curve([["1", "2", "3", "9"]], [[0.0, 0.0, 0.0, 1.0]], [1, 2], groups=2)
    assert points == [ScalePoint(1, 0.0, 0.0), ScalePoint(2, 1.0, 0.0)]


def test_log_linear_fit_recovers_a_line_in_log_samples() -> None:
    import math

    points = [ScalePoint(n, 0.2 + 0.1 * math.log(n), 0.0) for n in (1, 2, 4, 8, 16)]
    intercept, slope = log_linear_fit(points)
    assert intercept == pytest.approx(0.2) and slope == pytest.approx(0.1)
