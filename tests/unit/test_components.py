"""Each component against the scripted fake LLM: real registry, real executor, real cache."""

from __future__ import annotations

import re
from typing import Any

import pytest

from archon_cli.components.state import ExampleInput
from archon_cli.components.validate import parse_pipeline
from archon_cli.llm.session import open_client
from archon_cli.pipeline import ExampleResult, Pipeline
from tests.conftest import fake_pipeline
from tests.fakes import FakeLLM

GEN3 = [{"type": "generator", "model": "m", "samples": 3}]


def run(layers: list[list[dict[str, Any]]], n_examples: int = 2) -> tuple[Pipeline, list[ExampleResult]]:
    pipe = Pipeline(parse_pipeline(fake_pipeline(*layers), "test"))
    examples = [ExampleInput.from_prompt(f"ex{i}", f"What is {i} + {i}?") for i in range(n_examples)]
    with open_client(pipe.spec.models) as client:
        return pipe, pipe.run(examples, client)


def by_prompt(**rules: str) -> Any:
    """A responder that answers by the first rule whose keyword appears in the last message."""

    def respond(messages: list[dict[str, str]], sampling: dict[str, Any]) -> str:
        last = messages[-1]["content"]
        for keyword, reply in rules.items():
            if keyword in last:
                return reply.format(seed=sampling.get("seed", 0))
        return f"The answer is {sampling.get('seed', 0)}."

    return respond


LAYER_CASES = {
    "generator": [GEN3],
    "fuser": [GEN3, [{"type": "fuser", "model": "m", "samples": 2}]],
    "ranker": [GEN3, [{"type": "ranker", "model": "m", "top_k": 2}]],
    "critic": [GEN3, [{"type": "critic", "model": "m"}]],
    "verifier": [GEN3, [{"type": "verifier", "model": "m"}]],
    "unit_tests": [GEN3, [{"type": "unit_test_generator", "model": "m"}],
                   [{"type": "unit_test_evaluator", "model": "m"}]],
    "majority_vote": [GEN3, [{"type": "majority_vote"}]],
    "ensemble": [[{"type": "generator", "model": "m", "temperature": 0.2},
                  {"type": "generator", "model": "m", "samples": 2}]],
}


@pytest.mark.parametrize("case", sorted(LAYER_CASES))
def test_estimate_equals_calls_made(fake_llm: type[FakeLLM], case: str) -> None:
    pipe, results = run(LAYER_CASES[case])
    estimate = pipe.estimate_calls()
    assert all(r.error is None for r in results)
    assert len(fake_llm.calls) == estimate.calls * len(results)
    assert [r.usage.calls for r in results] == [estimate.calls] * len(results)


def test_identical_requests_in_flight_share_one_call(fake_llm: type[FakeLLM]) -> None:
    # Two generators with the same settings ask the same question with the same seed.
    _pipe, results = run([[{"type": "generator", "model": "m"}, {"type": "generator", "model": "m"}]], n_examples=1)
    assert len(fake_llm.calls) == 1
    assert results[0].usage.calls == 2
    assert results[0].usage.cache_hits == 1


def test_second_identical_run_is_served_from_cache(fake_llm: type[FakeLLM]) -> None:
    layers = LAYER_CASES["unit_tests"]
    _, first = run(layers)
    made = len(fake_llm.calls)
    _, second = run(layers)
    assert len(fake_llm.calls) == made  # no new provider call
    assert [r.output for r in second] == [r.output for r in first]
    assert all(r.usage.cache_hits == r.usage.calls for r in second)


def test_samples_get_distinct_seeds(fake_llm: type[FakeLLM]) -> None:
    run([GEN3], n_examples=1)
    assert sorted(s["seed"] for _, s in fake_llm.calls) == [0, 1, 2]


def test_ranker_reorders_and_keeps_critiques_aligned(fake_llm: type[FakeLLM]) -> None:
    fake_llm.reset(by_prompt(**{"strengths": "[1] crit-A\n[2] crit-B\n[3] crit-C", "Rank": "[3] > [1] > [2]",
                                "Candidate answers": "{seed}"}))
    fake_llm.responder = staticmethod(_with_generator_texts(fake_llm.responder))
    layers = [GEN3, [{"type": "critic", "model": "m"}], [{"type": "ranker", "model": "m", "top_k": 2}],
              [{"type": "fuser", "model": "m"}]]
    run(layers, n_examples=1)
    fuse_prompt = fake_llm.calls[-1][0][-1]["content"]
    # The fuser sees C then A, each followed by its own critique.
    assert re.search(r"\[1\] gen-2\nCritique of \[1\]: crit-C\n\n\[2\] gen-0\nCritique of \[2\]: crit-A", fuse_prompt)


def _with_generator_texts(inner: Any) -> Any:
    def respond(messages: list[dict[str, str]], sampling: dict[str, Any]) -> str:
        if len(messages) == 1 and messages[0]["content"].startswith("What is"):
            return f"gen-{sampling['seed']}"
        return str(inner(messages, sampling))

    return respond


def test_unparseable_output_falls_back_and_is_counted(fake_llm: type[FakeLLM]) -> None:
    fake_llm.reset(lambda m, s: "I cannot say.")
    layers = [GEN3, [{"type": "critic", "model": "m"}], [{"type": "ranker", "model": "m", "top_k": 1}]]
    _, results = run(layers)
    for r in results:
        assert r.error is None
        assert r.output == "I cannot say."
        assert r.usage.fallbacks == {"L1.0.critic.unsplit_critique": 1, "L2.0.ranker.unparsed_ranking": 1}


def test_verifier_passes_all_when_none_verified(fake_llm: type[FakeLLM]) -> None:
    fake_llm.reset(by_prompt(**{"Yes or No": "No."}))
    _, results = run([GEN3, [{"type": "verifier", "model": "m"}]], n_examples=1)
    assert results[0].output is not None
    assert results[0].usage.fallbacks == {"L1.0.verifier.none_verified": 1}


def test_verifier_filters_rejected_candidates(fake_llm: type[FakeLLM]) -> None:
    def respond(messages: list[dict[str, str]], sampling: dict[str, Any]) -> str:
        if "Yes or No" in messages[-1]["content"]:
            return "Yes" if "answer is 1." in messages[-3]["content"] else "No"
        return f"The answer is {sampling['seed']}."

    fake_llm.reset(respond)
    _, results = run([GEN3, [{"type": "verifier", "model": "m"}]], n_examples=1)
    assert results[0].output == "The answer is 1."


def test_majority_vote_picks_most_common_answer(fake_llm: type[FakeLLM]) -> None:
    fake_llm.reset(lambda m, s: ["It is 7.", "The answer is 9", "9"][s["seed"]])
    _, results = run([GEN3, [{"type": "majority_vote"}]], n_examples=1)
    assert results[0].output == "The answer is 9"


def test_transient_failures_are_retried(fake_llm: type[FakeLLM], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("archon_cli.llm.client.BACKOFF_S", 0.001)
    fake_llm.fail_next = 2
    _, results = run([GEN3], n_examples=1)
    assert results[0].error is None
    assert len(fake_llm.calls) == 3


def test_a_failing_example_does_not_stop_the_batch(fake_llm: type[FakeLLM], monkeypatch: pytest.MonkeyPatch) -> None:
    from archon_cli.llm.providers.base import TransientError

    monkeypatch.setattr("archon_cli.llm.client.BACKOFF_S", 0.001)

    def respond(messages: list[dict[str, str]], sampling: dict[str, Any]) -> str:
        if "1 + 1" in messages[-1]["content"]:
            raise TransientError("fake: 500")
        return "ok " + messages[-1]["content"]

    fake_llm.reset(respond)
    _, results = run([GEN3], n_examples=3)
    assert [r.id for r in results] == ["ex0", "ex1", "ex2"]
    assert results[1].output is None
    assert "failed after 5 attempts" in (results[1].error or "")
    assert results[0].output == "ok What is 0 + 0?"
    assert results[2].output == "ok What is 2 + 2?"
