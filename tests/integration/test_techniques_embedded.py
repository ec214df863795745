"""Issue 15's techniques on the real embedded engine: the calls each one makes equal its
estimate (adaptive vote: stay within it), and the engine enforces the structured-output schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from archon_cli.components import structured
from archon_cli.components.state import ExampleInput
from archon_cli.components.validate import parse_pipeline
from archon_cli.llm.client import LLMClient
from archon_cli.llm.engines.manager import Engines
from archon_cli.llm.types import Message, Request
from archon_cli.pipeline import Pipeline

SMOL = {"s": {"model": "local/smollm2-135m"}}
GEN = {"type": "generator", "model": "s", "samples": 3, "max_tokens": 12}
SHORT = {"model": "s", "max_tokens": 12}

CASES: dict[str, list[list[dict[str, Any]]]] = {
    "shortest": [[GEN], [{"type": "shortest", "top_k": 2}]],
    "weighted_vote": [[GEN], [{"type": "weighted_vote", "model": "s"}]],
    "refiner": [[{**GEN, "samples": 1}], [{"type": "refiner", "rounds": 2, "critique_max_tokens": 12, **SHORT}]],
    "generator_axes": [[{**GEN, "top_p": 0.9, "min_p": 0.05, "prompt_style": "step_by_step"}]],
    "program": [[{**GEN, "samples": 2, "answer_as": "program", "max_tokens": 32}]],
    "structured_rank_verify": [[{**GEN, "samples": 2}], [{"type": "ranker", "top_k": 2, **SHORT}],
                               [{"type": "verifier", **SHORT}]],
}
EXAMPLES = [ExampleInput.from_prompt("a", "What is 3 + 4?"), ExampleInput.from_prompt("b", "What is 10 - 6?")]


def engine_calls(call_log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in call_log.read_text().splitlines()] if call_log.exists() else []


@pytest.mark.parametrize("case", sorted(CASES))
def test_estimate_equals_engine_calls(case: str, engines: Engines, tmp_path: Path) -> None:
    pipe = Pipeline(parse_pipeline({"name": case, "models": SMOL, "layers": CASES[case]}, case))
    estimate = pipe.estimate_calls()
    assert estimate.exact
    results = pipe.run(EXAMPLES, LLMClient(pipe.spec.models, engines, None, call_log=tmp_path / "calls.jsonl"))
    assert all(r.error is None and r.output for r in results)
    assert [r.usage.calls for r in results] == [estimate.calls] * len(EXAMPLES)
    dedup = sum(r.usage.cache_hits for r in results)
    assert len(engine_calls(tmp_path / "calls.jsonl")) == estimate.calls * len(EXAMPLES) - dedup


def test_adaptive_vote_stays_within_its_estimate(engines: Engines, tmp_path: Path) -> None:
    layers = [[{"type": "adaptive_vote", "model": "s", "max_samples": 6, "round_size": 2, "max_tokens": 12}]]
    pipe = Pipeline(parse_pipeline({"name": "adaptive", "models": SMOL, "layers": layers}, "adaptive"))
    estimate = pipe.estimate_calls()
    assert not estimate.exact and estimate.calls == 6
    results = pipe.run(EXAMPLES, LLMClient(pipe.spec.models, engines, None, call_log=tmp_path / "calls.jsonl"))
    assert all(r.error is None and r.output for r in results)
    spent = [r.usage.calls for r in results]
    assert all(2 <= n <= 6 and n % 2 == 0 for n in spent)
    assert len(engine_calls(tmp_path / "calls.jsonl")) == sum(spent) - sum(r.usage.cache_hits for r in results)


def test_the_engine_enforces_the_ranking_schema(engines: Engines) -> None:
    pipe_models = parse_pipeline({"name": "x", "models": SMOL, "layers": [[GEN]]}, "x").models
    client = LLMClient(pipe_models, engines, None)
    # A prompt that asks for something else entirely: only the grammar makes the reply a ranking.
    req = Request("s", (Message("user", "Write a haiku about the sea."),), 0.0, 48,
                  json_schema=structured.ranking(4), schema_max_tokens=structured.reply_tokens(4))

    import asyncio

    reply = asyncio.run(client.complete(req)).text
    ranking = json.loads(reply)["ranking"]
    assert len(ranking) == 4 and set(ranking) <= {1, 2, 3, 4}


def test_first_finish_cancels_the_slower_samples_on_the_engine(engines: Engines, tmp_path: Path) -> None:
    layers = [[{**GEN, "samples": 4, "first_finish": 2, "max_tokens": 64, "temperature": 1.0}]]
    pipe = Pipeline(parse_pipeline({"name": "ff", "models": SMOL, "layers": layers}, "ff"))
    estimate = pipe.estimate_calls()
    assert not estimate.exact and estimate.calls == 4
    results = pipe.run(EXAMPLES, LLMClient(pipe.spec.models, engines, None, call_log=tmp_path / "calls.jsonl"))
    assert all(r.error is None and r.first_layer is not None and len(r.first_layer) == 2 for r in results)
    assert [r.usage.calls for r in results] == [2, 2]  # the answers kept
    log = engine_calls(tmp_path / "calls.jsonl")
    assert len(log) <= estimate.calls * len(EXAMPLES)  # every attempt, finished or cut
    answered = [c for c in log if "outcome" not in c]
    cut = [c for c in log if c.get("outcome") == "cancelled"]
    assert len(answered) == 2 * len(EXAMPLES) and len(answered) + len(cut) == len(log)
    assert all(c["completion_tokens"] < 64 for c in cut)  # they stopped writing when cancelled
