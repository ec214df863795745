"""Built-in scorers, and the judge scorer against the scripted fake LLM."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from archon_cli.config.pipeline import ModelSpec
from archon_cli.llm.session import open_client
from archon_cli.sandbox.programs import build_program, extract_code
from archon_cli.tasks import SCORERS
from archon_cli.tasks.base import Example, ScoreError, ScorerOptions
from tests.fakes import FakeLLM


def score(name: str, output: str, reference: str | None, **kw: Any) -> float:
    return SCORERS.get(name)().score(Example("x", "q", reference=reference, **kw), output)


@pytest.mark.parametrize(
    ("name", "output", "reference", "expected"),
    [
        ("exact", " Paris\n", "Paris", 1.0),
        ("exact", "paris", "Paris", 0.0),
        ("normalized", "The Eiffel Tower!", "eiffel tower", 1.0),
        ("normalized", "Eiffel", "eiffel tower", 0.0),
        ("contains", "I think it is Paris, France.", "paris", 1.0),
        ("contains", "Parisian", "Paris", 0.0),
        ("regex", "The answer: 42 apples", r"\b42\b", 1.0),
        ("regex", "The answer: 420", r"\b42\b", 0.0),
        ("numeric", "so the total is 1,250.", "1250", 1.0),
        ("numeric", "so the total is 1251.", "1250", 0.0),
        ("math", "The result is $\\frac{1}{2}$", "0.5", 1.0),
        ("math", "x = \\boxed{2\\sqrt{2}}", "\\sqrt{8}", 1.0),
        ("math", "The result is $\\frac{1}{3}$", "0.5", 0.0),
        ("choice", "The answer is (C).", "C", 1.0),
        ("choice", "**B** is correct because...", "B", 1.0),
        ("choice", "Answer: D", "B", 0.0),
        ("choice", "A cat would say B.", "B", 1.0),
    ],
)
def test_scorers(name: str, output: str, reference: str, expected: float) -> None:
    assert score(name, output, reference) == expected


def test_choice_matches_the_text_of_a_choice() -> None:
    choices = ("red", "green", "blue")
    assert score("choice", "It is green.", "B", choices=choices) == 1.0
    assert score("choice", "(B)", "green", choices=choices) == 1.0


def test_missing_reference_and_bad_regex_are_score_errors() -> None:
    with pytest.raises(ScoreError):
        score("exact", "x", None)
    with pytest.raises(ScoreError):
        score("regex", "x", "(unclosed")


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("Here you go:\n```python\ndef f(x):\n    return x\n```\nDone.", "def f(x):\n    return x"),
        ("```py\nimport os\n```\n```python\ndef f(x):\n    return 1\n```", "def f(x):\n    return 1"),
        ("```\ndef f(x):\n    return 2\n", "def f(x):\n    return 2"),  # unclosed fence
        ("def f(x):\n    return 3\n", "def f(x):\n    return 3"),  # no fence
    ],
)
def test_extract_code(output: str, expected: str) -> None:
    assert extract_code(output, "f") == expected


def test_build_program_continues_a_body_or_keeps_a_full_definition() -> None:
    prompt = 'from typing import List\n\ndef f(xs: List[int]) -> int:\n    """Sum."""\n'
    body = build_program("    return sum(xs)", "f", prompt)
    unindented = build_program("return sum(xs)", "f", prompt)
    full = build_program("def f(xs):\n    return sum(xs)", "f", prompt)
    for program in (body, unindented, full):
        namespace: dict[str, Any] = {}
        exec(program, namespace)  # trusted test text, not model output
        assert namespace["f"]([1, 2]) == 3


@pytest.fixture
def judge_options(fake_llm: type[FakeLLM]) -> Iterator[ScorerOptions]:
    spec = ModelSpec.model_validate({"model": "fake/judge"})
    with open_client({"judge": spec}) as client:
        yield ScorerOptions(judge_model=spec, judge_client=client)


def test_judge_single_maps_the_rating_and_unreadable_verdicts_are_errors(
        fake_llm: type[FakeLLM], judge_options: ScorerOptions) -> None:
    fake_llm.reset(lambda m, s: "Helpful. Rating: [[8]]" if "good answer" in m[-1]["content"] else "Hmm, decent.")
    scorer = SCORERS.get("judge")(judge_options)
    results = scorer.score_many([(Example("a", "q"), "good answer"), (Example("b", "q"), "meh")])
    assert results[0] == pytest.approx(0.8)
    assert isinstance(results[1], ScoreError)
    assert "no 1–10 rating" in str(results[1])


def test_judge_pairwise_swaps_positions(fake_llm: type[FakeLLM], judge_options: ScorerOptions) -> None:
    def biased(messages: list[dict[str, str]], sampling: dict[str, Any]) -> str:
        user = messages[-1]["content"]
        a = user.split("[The Start of Assistant A's Answer]")[1]
        if "GREAT" in a.split("[The End")[0]:
            return "A is better. [[A]]"
        return "[[A]]" if "always-A" in user else "Assistant B is better."

    fake_llm.reset(biased)
    judge_options.judge_mode = "pairwise"
    scorer = SCORERS.get("judge")(judge_options)
    consistent = scorer.score(Example("a", "q", reference="baseline"), "GREAT")
    assert consistent == 1.0
    assert len(fake_llm.calls) == 2
    # A judge that always picks position A is inconsistent under swapping: a tie.
    assert scorer.score(Example("b", "always-A q", reference="baseline"), "plain") == 0.5
    with pytest.raises(ScoreError):
        scorer.score(Example("c", "q"), "no baseline anywhere")


def test_judge_without_a_model_is_a_config_error() -> None:
    from archon_cli.errors import ConfigError

    with pytest.raises(ConfigError, match="--judge-model"):
        SCORERS.get("judge")().score(Example("a", "q"), "x")
