"""The inference-time techniques of issue 15 against the scripted fake LLM: real registry, real
executor, real cache (and the real sandbox for program-aided answers)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from archon_cli.components.adaptive_vote import decided, leader_probability
from archon_cli.components.state import ExampleInput
from archon_cli.components.validate import parse_pipeline
from archon_cli.llm.cache import cache_key
from archon_cli.llm.session import open_client
from archon_cli.pipeline import ExampleResult, Pipeline
from tests.conftest import fake_pipeline
from tests.fakes import FakeLLM

GEN = {"type": "generator", "model": "m", "samples": 4}


def run(layers: list[list[dict[str, Any]]], n_examples: int = 2) -> tuple[Pipeline, list[ExampleResult]]:
    pipe = Pipeline(parse_pipeline(fake_pipeline(*layers), "test"))
    examples = [ExampleInput.from_prompt(f"ex{i}", f"What is {i} + {i}?") for i in range(n_examples)]
    with open_client(pipe.spec.models) as client:
        return pipe, pipe.run(examples, client)


def by_seed(*replies: str) -> Any:
    return lambda messages, sampling: replies[sampling["seed"] % len(replies)]


EXACT_CASES = {
    "shortest": [[GEN], [{"type": "shortest", "top_k": 2}]],
    "weighted_vote": [[GEN], [{"type": "weighted_vote", "model": "m"}]],
    "refiner": [[GEN], [{"type": "refiner", "model": "m", "rounds": 2}]],
    "generator_axes": [[GEN | {"top_p": 0.9, "min_p": 0.05, "prompt_style": "step_by_step"}]],
    "program": [[GEN | {"samples": 2, "answer_as": "program"}]],
}


@pytest.mark.parametrize("case", sorted(EXACT_CASES))
def test_estimate_equals_calls_made(fake_llm: type[FakeLLM], case: str) -> None:
    pipe, results = run(EXACT_CASES[case])
    estimate = pipe.estimate_calls()
    assert estimate.exact
    assert all(r.error is None for r in results)
    assert len(fake_llm.calls) == estimate.calls * len(results)
    assert [r.usage.calls for r in results] == [estimate.calls] * len(results)


def test_shortest_keeps_the_top_k_shortest(fake_llm: type[FakeLLM]) -> None:
    fake_llm.reset(by_seed("a long answer: 5", "4", "the answer is 3", "12"))
    _, results = run([[GEN], [{"type": "shortest", "top_k": 2}], [{"type": "majority_vote"}]], n_examples=1)
    assert results[0].output == "4"  # the two shortest are "4" and "12"; their tie goes to "4"


def test_first_finish_keeps_the_first_k_and_cancels_the_rest(fake_llm: type[FakeLLM]) -> None:
    fake_llm.reset(by_seed("s0", "s1", "s2", "s3", "s4"))
    fake_llm.delay_s = lambda sampling: 0.0 if sampling["seed"] >= 3 else 60.0  # samples 3 and 4 finish
    pipe, results = run([[GEN | {"samples": 5, "first_finish": 2}]], n_examples=1)
    assert results[0].first_layer == ["s3", "s4"]  # the two fastest, in sample order
    assert fake_llm.cancelled == 3 and len(fake_llm.calls) == 2  # the others never answered
    assert results[0].usage.calls == 2
    estimate = pipe.estimate_calls()
    assert (estimate.calls, estimate.exact) == (5, False)  # an upper bound: all five may start
    assert pipe.layers[0][0][1].n_out(0) == 2


def test_first_finish_cannot_exceed_the_samples() -> None:
    with pytest.raises(Exception, match="first_finish"):
        parse_pipeline(fake_pipeline([GEN | {"first_finish": 5}]), "test")


def test_adaptive_vote_stops_once_the_vote_is_decided(fake_llm: type[FakeLLM]) -> None:
    fake_llm.reset(lambda m, s: "The answer is 7.")
    pipe, results = run([[{"type": "adaptive_vote", "model": "m", "max_samples": 10, "round_size": 2}]])
    estimate = pipe.estimate_calls()
    assert not estimate.exact and estimate.calls == 10
    # 4 agreeing votes give P(leader) = 31/32 ≥ 0.95 after the second round of 2.
    assert [r.usage.calls for r in results] == [4, 4]
    assert len(fake_llm.calls) == 8
    assert sorted(s["seed"] for _, s in fake_llm.calls) == [0, 0, 1, 1, 2, 2, 3, 3]


def test_adaptive_vote_samples_to_the_maximum_when_split(fake_llm: type[FakeLLM]) -> None:
    fake_llm.reset(by_seed("The answer is 1.", "The answer is 2."))
    pipe, results = run([[{"type": "adaptive_vote", "model": "m", "max_samples": 6, "round_size": 4}]], n_examples=1)
    assert results[0].usage.calls == 6 == pipe.estimate_calls().calls
    assert len(pipe.layers[0]) == 1 and results[0].first_layer is not None and len(results[0].first_layer) == 6


def test_adaptive_vote_decided_rule_is_exact(fake_llm: type[FakeLLM]) -> None:
    # Leader 3, runner-up 0, 2 left: nothing can overturn it.
    assert decided(["7", "7", "7"], left=2, rule="decided", confidence=0.95)
    assert not decided(["7", "7", "3"], left=2, rule="decided", confidence=0.95)
    assert leader_probability(4, 0) == pytest.approx(31 / 32)
    assert leader_probability(2, 2) == pytest.approx(0.5)


def test_adaptive_vote_shares_samples_with_a_generator(fake_llm: type[FakeLLM]) -> None:
    fake_llm.reset(lambda m, s: "The answer is 7.")
    run([[GEN | {"samples": 4, "max_tokens": 64}]], n_examples=1)
    made = len(fake_llm.calls)
    _, results = run([[{"type": "adaptive_vote", "model": "m", "max_samples": 8, "max_tokens": 64}]], n_examples=1)
    assert len(fake_llm.calls) == made  # its first four samples are the generator's, from the cache
    assert results[0].usage.cache_hits == 4


def test_weighted_vote_lets_scores_outvote_a_majority(fake_llm: type[FakeLLM]) -> None:
    def respond(messages: list[dict[str, str]], sampling: dict[str, Any]) -> str:
        last = messages[-1]["content"]
        if "from 1 (surely wrong)" in last:
            return "10" if "answer is 5" in last else "2"
        return ["The answer is 4.", "The answer is 4.", "The answer is 5.", "The answer is 6."][sampling["seed"]]

    fake_llm.reset(respond)
    _, results = run([[GEN], [{"type": "weighted_vote", "model": "m"}]], n_examples=1)
    assert results[0].output == "The answer is 5."  # 10 outweighs 2 + 2
    _, plain = run([[GEN], [{"type": "majority_vote"}]], n_examples=1)
    assert plain[0].output == "The answer is 4."


def test_weighted_vote_unreadable_score_is_a_counted_fallback(fake_llm: type[FakeLLM]) -> None:
    fake_llm.reset(lambda m, s: "no idea" if "surely wrong" in m[-1]["content"] else "The answer is 3.")
    _, results = run([[GEN], [{"type": "weighted_vote", "model": "m"}]], n_examples=1)
    assert results[0].usage.fallbacks == {"L1.0.weighted_vote.unparsed_score": 4}


def test_refiner_revises_with_the_feedback_for_each_round(fake_llm: type[FakeLLM]) -> None:
    def respond(messages: list[dict[str, str]], sampling: dict[str, Any]) -> str:
        last = messages[-1]["content"]
        if "Point out any mistake" in last:
            return "Add again."
        if "Feedback: Add again." in last:
            return last.split("Previous answer: ")[1].split("\n")[0] + "+"
        return "v"

    fake_llm.reset(respond)
    _, results = run([[{"type": "generator", "model": "m"}], [{"type": "refiner", "model": "m", "rounds": 3}]],
                     n_examples=1)
    assert results[0].output == "v+++"
    assert results[0].usage.calls == 1 + 2 * 3


def test_generator_axes_reach_the_engine_and_leave_old_requests_alone(fake_llm: type[FakeLLM]) -> None:
    run([[{"type": "generator", "model": "m"}]], n_examples=1)
    run([[{"type": "generator", "model": "m", "top_p": 0.9, "min_p": 0.05, "prompt_style": "step_by_step"}]],
        n_examples=1)
    (plain_msgs, plain), (styled_msgs, styled) = fake_llm.calls
    assert plain == {"temperature": 0.7, "max_tokens": 256, "seed": 0}  # no new keys: cache keys unchanged
    assert styled == plain | {"top_p": 0.9, "min_p": 0.05}
    assert plain_msgs[-1]["content"] == "What is 0 + 0?"
    assert styled_msgs[-1]["content"].startswith("What is 0 + 0?\n\nThink step by step")
    # The key of a plain request is what it was before these knobs existed.
    assert cache_key("fake/scripted", plain_msgs, plain | {"sample": 0}) == cache_key(
        "fake/scripted", [{"role": "user", "content": "What is 0 + 0?"}],
        {"temperature": 0.7, "max_tokens": 256, "seed": 0, "sample": 0})


def test_program_answers_are_what_the_sandbox_prints(fake_llm: type[FakeLLM]) -> None:
    programs = ["```python\nprint(6 * 7)\n```", "```python\nraise SystemExit(3)\n```"]
    fake_llm.reset(lambda m, s: programs[s["seed"]])
    _, results = run([[GEN | {"samples": 2, "answer_as": "program"}]], n_examples=1)
    assert "Python program" in fake_llm.calls[0][0][-1]["content"]
    assert results[0].first_layer == ["42", programs[1]]  # the failed program leaves the reply itself
    assert results[0].usage.fallbacks == {"L0.0.generator.program_failed": 1}
    assert results[0].usage.calls == 2


SCHEMA_LAYERS = [[GEN], [{"type": "critic", "model": "m"}], [{"type": "ranker", "model": "m"}]]


def test_structured_auto_sends_no_schema_to_a_provider_that_does_not_enforce_one(fake_llm: type[FakeLLM]) -> None:
    run(SCHEMA_LAYERS, n_examples=1)
    assert not any("response_format" in s for _, s in fake_llm.calls)


def test_structured_on_sends_the_schema_and_its_budget(fake_llm: type[FakeLLM]) -> None:
    layers = [[GEN], [{"type": "ranker", "model": "m", "structured": "on"}]]
    run(layers, n_examples=1)
    sampling = fake_llm.calls[-1][1]
    schema = sampling["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["ranking"]["maxItems"] == 4
    assert sampling["max_tokens"] == 24 + 6 * 4


def test_enforcing_provider_gets_schemas_and_json_replies_parse(fake_llm: type[FakeLLM],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(FakeLLM, "supports_json_schema", property(lambda self: True))

    def respond(messages: list[dict[str, str]], sampling: dict[str, Any]) -> str:
        fmt = sampling.get("response_format")
        if fmt is None:
            return f"gen-{sampling['seed']}"
        key = next(iter(fmt["json_schema"]["schema"]["properties"]))
        replies = {"critiques": ["c1", "c2", "c3", "c4"], "ranking": [3, 1, 2, 4], "correct": True,
                   "results": ["PASS", "FAIL", "PASS"], "score": 7}
        return json.dumps({key: replies[key]}, indent=2)  # pretty-printed, as llama.cpp does

    fake_llm.reset(respond)
    layers = [[GEN], [{"type": "critic", "model": "m"}], [{"type": "ranker", "model": "m", "top_k": 4}],
              [{"type": "verifier", "model": "m"}], [{"type": "unit_test_generator", "model": "m"}],
              [{"type": "unit_test_evaluator", "model": "m"}], [{"type": "weighted_vote", "model": "m"}]]
    _, results = run(layers, n_examples=1)
    assert results[0].error is None
    assert results[0].usage.fallbacks == {}
    assert results[0].output == "gen-2"  # the ranking put candidate 3 first; nothing later reorders it
    keys = {next(iter(s["response_format"]["json_schema"]["schema"]["properties"]))
            for _, s in fake_llm.calls if "response_format" in s}
    assert keys == {"critiques", "ranking", "correct", "results", "score"}


def test_structured_off_sends_no_schema_even_to_an_enforcing_provider(fake_llm: type[FakeLLM],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(FakeLLM, "supports_json_schema", property(lambda self: True))
    run([[GEN], [{"type": "ranker", "model": "m", "structured": "off"}]], n_examples=1)
    assert not any("response_format" in s for _, s in fake_llm.calls)


def test_structured_reads_yaml_on_and_off(fake_llm: type[FakeLLM]) -> None:
    import yaml

    layers = yaml.safe_load("[[{type: generator, model: m}], [{type: ranker, model: m, structured: off}],"
                            " [{type: verifier, model: m, structured: on}]]")
    spec = parse_pipeline(fake_pipeline(*layers), "test")
    assert [layer[0].structured for layer in spec.layers[1:]] == ["off", "on"]  # type: ignore[attr-defined]
