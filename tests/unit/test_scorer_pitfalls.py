"""Issue 12's scorer findings, one test each (every one failed before the fix): answer
extraction, the choice scorer, blank outputs, code extraction."""

from __future__ import annotations

from typing import Any

import pytest

from archon_cli.answers import extract_answer
from archon_cli.components.state import ExampleInput
from archon_cli.components.validate import parse_pipeline
from archon_cli.llm.session import open_client
from archon_cli.pipeline import Pipeline
from archon_cli.sandbox.programs import extract_code
from archon_cli.tasks import SCORERS
from archon_cli.tasks.base import Example, ScorerOptions
from archon_cli.tasks.scorers import extract_choice
from tests.conftest import fake_pipeline
from tests.fakes import FakeLLM


def score(name: str, output: str, reference: str | None, **kw: Any) -> float:
    return SCORERS.get(name)().score(Example("x", "q", reference=reference, **kw), output)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The answer is 42. I needed 3 steps.", "42"),  # the answer sentence, not the line's last number
        ("So the answer is 12 since I added 3 and 9.", "12"),
        ("The answer is 3 + 4 = 7", "7"),
        ("42 = 39 + 3", "42"),  # answer first
        ("42\n\nExplanation: I added the 2 numbers.", "42"),
        ("**42**\nBecause 40 + 2.", "42"),
        ("The answer is \u221228.", "-28"),  # Unicode minus
        ("The answer is - 28.", "-28"),
        ("- 28", "-28"),
        ("30 - 28 = 2", "2"),  # a minus between operands is subtraction
        ("Steps:\n- 3 apples\n- 4 apples", "4"),  # list bullets are not minus signs
        ("The total is 28 080.", "28080"),  # spaced thousands
        ("The total is 28\u202f080.", "28080"),
        ("The total is 28\u00a0080.", "28080"),
        ("The total is 28,080.", "28080"),
        ("1,2,3", "3"),  # a list, not 123
    ],
)
def test_numeric_answer_extraction(text: str, expected: str) -> None:
    assert extract_answer(text) == expected


def test_majority_vote_groups_by_the_answer_sentence(fake_llm: type[FakeLLM]) -> None:
    # Two samples answer 42 (with different step counts after it), one answers 3 (in 3 steps).
    replies = ["The answer is 3. I needed 3 steps.", "The answer is 42. I needed 3 steps.",
               "The answer is 42. It took 2 steps."]
    fake_llm.reset(lambda m, s: replies[s["seed"]])
    layers = [[{"type": "generator", "model": "m", "samples": 3}], [{"type": "majority_vote"}]]
    pipe = Pipeline(parse_pipeline(fake_pipeline(*layers), "test"))
    with open_client(pipe.spec.models) as client:
        (result,) = pipe.run([ExampleInput.from_prompt("q", "What is 40 + 2?")], client)
    assert result.output == replies[1]


@pytest.mark.parametrize(
    ("output", "choices", "expected"),
    [
        ("The answer is a city in the north.", None, None),  # an article, not choice A
        ("The answer is a city in the north. So B.", None, "B"),
        ("At first (B) looks right, but checking again the answer is (C).", None, "C"),  # the last marker
        ("(A) is tempting. (D) is correct.", None, "D"),
        ("I think it is B", tuple("abcdefghij"), "B"),  # the pronoun I, with ten choices
        ("I would say so.", tuple("abcdefghij"), None),
        ("a", None, "A"),  # a bare letter as the whole reply
        ("(a)", None, "A"),
        ("c.", None, "C"),
    ],
)
def test_choice_extraction(output: str, choices: tuple[str, ...] | None, expected: str | None) -> None:
    assert extract_choice(output, choices) == expected


def test_an_empty_output_never_scores_1() -> None:
    # A reference that normalizes to nothing ("The", "A") let "" match it.
    for ref in ("The", "A", "An", "the."):
        assert score("normalized", "", ref) == 0.0
        assert score("normalized", ref.lower(), ref) == 1.0
    example = Example("x", "q", reference="", tests="assert True", entry_point="f", choices=("a", "b"))
    for name in SCORERS.names():
        scorer = SCORERS.get(name)(ScorerOptions())
        for blank in ("", "   \n"):
            assert scorer.score_outputs([(example, blank)]) == [0.0], name
    for name, ref in (("exact", ""), ("numeric", ""), ("regex", ".*"), ("normalized", "the")):
        assert score(name, "", ref) == 0.0, name  # called directly, too
    regex = SCORERS.get("regex")()
    assert regex.score_outputs([(Example("x", "q", reference=".*"), ""), (Example("y", "q", reference="a"), "a")]) \
        == [0.0, 1.0]


WRONG_THEN_RIGHT = """My first attempt:
```python
def f(x):
    return x - 1
```
Wait, that is wrong. Here is the corrected version:
```python
def f(x):
    return helper(x) + 1
```
It uses this helper:
```python
import math


def helper(x):
    return math.floor(x)


print(helper(2.5))
```
Usage:
```python
y = f(3)
print(y)
```
"""


def test_code_extraction_prefers_the_last_definition_and_keeps_helpers() -> None:
    code = extract_code(WRONG_THEN_RIGHT, "f")
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # trusted test text, not model output
    assert namespace["f"](3.5) == 4
    assert "x - 1" not in code and "print(" not in code and "y = f(3)" not in code


def test_unfenced_code_after_prose_is_extracted() -> None:
    reply = "Sure! Here is the solution:\ndef f(x):\n    return x * 2\n\nThis doubles x. Hope it helps!"
    assert extract_code(reply, "f") == "def f(x):\n    return x * 2"
    body = "    return x * 2\n"  # a body-only completion is left as it is
    assert extract_code(body, "f") == "    return x * 2"
