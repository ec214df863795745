"""The landscape pipeline end to end on the scripted fake LLM: record a small space, then
measure search quality over the table with the real search loop."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from benchmarks.landscape.record import record
from benchmarks.search_quality import measure
from tests.fakes import FakeLLM

SPACE = """name: small
models: {m: {model: fake/scripted}}
defaults: {max_tokens: 16}
layers:
  - name: L0
    component: {type: generator, params: {samples: {choices: [1, 3]}, temperature: {choices: [0.0, 0.7]}}}
  - name: L1
    choice: {none: [], vote: [{component: {type: majority_vote}}]}
"""


def sampled_solver(messages: list[dict[str, str]], sampling: dict[str, Any]) -> str:
    """Greedy wrong, sampled right on even first operands: sampling architectures win."""
    m = re.search(r"What is (\d+) ([+-]) (\d+)\?", messages[-1]["content"])
    if not m or sampling["temperature"] == 0:
        return "The answer is -1."
    a, op, b = int(m[1]), m[2], int(m[3])
    return f"The answer is {(a + b if op == '+' else a - b) + (a % 2)}."


def test_record_then_measure_search_quality(tmp_path: Path, fake_llm: type[FakeLLM]) -> None:
    fake_llm.reset(sampled_solver)
    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    summary = record(space, "arithmetic", 60, 0, tmp_path / "small", jobs=1)
    assert summary["configs"] == 8 and summary["rows"] == 8 * 60
    out = measure(tmp_path / "small", seeds=2, search_examples=20, budget_fraction=0.5)
    land = out["landscape"]
    assert land["configs"] == 8 and land["heldout_examples"] == 40
    assert land["single_call_heldout"] < 0.1 < 0.4 < land["best_heldout"]  # greedy is wrong here
    for name in ("random", "tpe", "default"):
        s = out["strategies"][name]
        assert 0.0 <= s["tied_with_best_fraction"] <= 1.0 and s["mean_heldout_regret"] >= 0.0
