from __future__ import annotations

import pytest

from archon_cli.answers import extract_answer
from archon_cli.components.parsing import parse_pass_fail, parse_ranking, parse_tests, parse_verdict, split_critiques


@pytest.mark.parametrize(
    ("text", "n", "expected"),
    [
        ("[2] > [1] > [3]", 3, [1, 0, 2]),
        ("The ranking is: [3] > [1]", 3, [2, 0, 1]),
        ("Answer 2 is best, then 3, then 1.", 3, [1, 2, 0]),
        ("[5] > [2] > [2] > [1]", 3, [1, 0, 2]),  # out of range and repeats skipped
        ("I think they are all good.", 3, None),
        ("", 2, None),
    ],
)
def test_parse_ranking(text: str, n: int, expected: list[int] | None) -> None:
    assert parse_ranking(text, n) == expected


def test_split_critiques_aligned_by_number() -> None:
    text = "[1] Strength: clear. Weakness: wrong sum.\n[2] Correct and short.\n[3] Off topic."
    assert split_critiques(text, 3) == ["Strength: clear. Weakness: wrong sum.", "Correct and short.", "Off topic."]
    assert split_critiques("Answer 1: good\nAnswer 2: bad", 2) == ["good", "bad"]
    assert split_critiques("1. good\n2. bad", 2) == ["good", "bad"]


@pytest.mark.parametrize("text", ["Both answers look fine to me.", "[1] good", ""])
def test_split_critiques_unsplittable(text: str) -> None:
    assert split_critiques(text, 2) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Yes", True), ("No.", False), ("The answer is correct.", True), ("This is incorrect", False),
     ("Yes, the answer is not wrong", True), ("hmm", None)],
)
def test_parse_verdict(text: str, expected: bool | None) -> None:
    assert parse_verdict(text) is expected


def test_parse_tests_prefers_asserts() -> None:
    text = "Here are tests:\n```python\nassert f(1) == 2\nassert f(2) == 3\n```"
    assert parse_tests(text, 5) == ["assert f(1) == 2", "assert f(2) == 3"]
    assert parse_tests("1. The sum is 42\n2. It is an integer", 5) == ["The sum is 42", "It is an integer"]
    assert parse_tests("", 5) is None


def test_parse_pass_fail() -> None:
    assert parse_pass_fail("1. PASS\n2. FAIL\n3. pass", 3) == 2
    assert parse_pass_fail("no idea", 3) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("The answer is 42.", "42"), ("17 + 25 = 42", "42"), ("\\boxed{7}", "7"), ("Answer: 1,000", "1000"),
     ("It is 3.0", "3"), ("Final answer: -5", "-5"), ("Paris", "paris")],
)
def test_extract_answer(text: str, expected: str) -> None:
    assert extract_answer(text) == expected
