"""The verdict against a hand-computed case, and end to end: search → verdict.json → show, replay."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

from archon_cli.cli.app import main
from archon_cli.components.validate import parse_pipeline
from archon_cli.config.search import load_search_config
from archon_cli.evaluate import aevaluate
from archon_cli.llm.session import open_client
from archon_cli.pipeline import Pipeline
from archon_cli.runs import RunDir
from archon_cli.search.study import missing_baselines, seed_architectures
from archon_cli.search.verdict import compare
from archon_cli.tasks.loading import load_task
from tests.fakes import FakeLLM
from tests.search_helpers import only_run, search_config

QUESTION = re.compile(r"What is (\d+) ([+-]) (\d+)\?")


def sampled_right_greedy_wrong(messages: list[dict[str, str]], sampling: dict[str, Any]) -> str:
    """Greedy calls are always wrong; sampled ones are right when the first operand is even."""
    m = QUESTION.search(messages[-1]["content"])
    if not m or sampling["temperature"] == 0:
        return "The answer is -1."
    a, op, b = int(m[1]), m[2], int(m[3])
    value = a + b if op == "+" else a - b
    return f"The answer is {value if a % 2 == 0 else value + 1}."


def test_verdict_matches_a_hand_computed_case(fake_llm: type[FakeLLM]) -> None:
    fake_llm.reset(sampled_right_greedy_wrong)
    examples, scorer = load_task("arithmetic", None, limit=12)
    even = sum(1 for ex in examples if int(QUESTION.search(ex.input)[1]) % 2 == 0)  # type: ignore[index]
    assert 0 < even < len(examples)
    models = {"m": {"model": "fake/scripted"}}
    winner = parse_pipeline({"name": "w", "models": models, "layers": [
        [{"type": "generator", "model": "m", "samples": 3, "temperature": 0.7, "max_tokens": 16}],
        [{"type": "majority_vote"}]]}, "w")
    with open_client(winner.models) as client:

        async def run() -> Any:
            mine = await aevaluate(Pipeline(winner), examples, scorer, client)
            return await compare(0, winner, mine, winner.models, examples, scorer, client, "test")

        verdict = asyncio.run(run())
    assert verdict.estimate.mean == pytest.approx(even / len(examples))
    single, vote = verdict.results
    assert single.estimate is not None and single.estimate.mean == 0.0
    assert single.comparison is not None
    assert single.comparison.diff == pytest.approx(even / len(examples))
    # every discordant pair favours the winner: exact McNemar p = 2 · 0.5^even
    assert single.comparison.p_value == pytest.approx(min(1.0, 2 * 0.5**even))
    assert "points over a single call" in single.line
    # 3 calls per query → a 3-sample vote at T0.7: the winner itself, so a difference of exactly 0
    assert vote.label == "a 3-sample vote at equal calls" and vote.note == "the winner is this baseline"
    assert vote.comparison is not None and vote.comparison.diff == 0 and vote.comparison.p_value == 1.0
    assert "not significant" in vote.line


def test_search_writes_a_verdict_that_show_and_replay_print(tmp_path: Path, fake_llm: type[FakeLLM],
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    fake_llm.reset(sampled_right_greedy_wrong)
    assert main(["search", str(search_config(tmp_path, trials=5, search_size=6, size=20))]) == 0
    run = RunDir(only_run(tmp_path))
    verdict = json.loads(run.verdict_json.read_text())
    assert verdict["winner"]["split"] == "test" and verdict["n"] == 14
    labels = [b["label"] for b in verdict["baselines"]]
    assert labels[0] == "a single call" and len(labels) == 2
    for b in verdict["baselines"]:
        if b["comparison"] is not None:
            c = b["comparison"]
            assert c["low"] <= c["diff"] <= c["high"] and 0 <= c["p_value"] <= 1 and c["n"] == 14
    out = capsys.readouterr().out
    assert "verdict on 14 test examples" in " ".join(out.split())
    assert main(["show", str(run.path)]) == 0
    assert verdict["lines"][1].strip() in " ".join(capsys.readouterr().out.split())
    assert main(["replay", str(run.path), "--limit", "5"]) == 0
    assert "a single call" in capsys.readouterr().out


def test_the_quickstart_space_holds_the_greedy_single_call_and_validate_warns_when_a_space_does_not(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = load_search_config(Path(__file__).resolve().parents[2] / "configs" / "quickstart.yaml")
    seeds = seed_architectures(cfg.resolved_space(), cfg.resolved_models(), cfg.budget.calls_per_query)
    assert seeds[0].label == "single-model" and seeds[0].temperature == 0.0
    assert missing_baselines(cfg.resolved_space(), cfg.resolved_models(), cfg.budget.calls_per_query) == []
    space = tmp_path / "hot.yaml"
    space.write_text("name: hot\nmodels: {m: {model: fake/x}}\nlayers:\n"
                     "  - component: {type: generator, params: {samples: {choices: [1, 3]}, temperature: 0.7}}\n")
    assert main(["validate", str(space)]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "cannot express one greedy call" in err and "majority vote" in err
