"""Verdicts out of real-looking, messy judge output."""

from __future__ import annotations

import pytest

from archon_cli.tasks.judge_parsing import parse_preference, parse_rating


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The response is accurate and detailed.\n\nRating: [[7]]", 7),
        ("Rating: [[8.5]]", 8.5),
        ("[[ 9 ]]", 9),
        ("Overall a solid answer. I'd give it 8/10.", 8),
        ("**Score:** 6", 6),
        ("**Rating**: 4 out of 10 — the answer misses the second part.", 4),
        ("Score - 3", 3),
        ("The assistant lists 3 options and 2 caveats. Rating: 5", 5),
        ("Compared with a 10/10 answer this one is weaker. Final rating: [[6]]", 6),
        ("I would rate it a 7 because it is concise.", 7),
        ("My score would be 9/10", 9),
        ("Rating: [[rating]]", None),  # the template echoed back
        ("The answer is helpful and well organised.", None),
        ("Rating: [[0]]", None),  # out of the 1–10 scale
        ("Rating: [[15]]", None),
        ("", None),
    ],
)
def test_parse_rating(text: str, expected: float | None) -> None:
    assert parse_rating(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Assistant A gives more detail.\n\n[[A]]", "A"),
        ("Both are fine but B is more accurate. Final verdict: [[B]]", "B"),
        ("They are equally good. [[C]]", "C"),
        ("[[tie]]", "C"),
        ("At first [[A]] seemed better, but on reflection: [[B]]", "B"),
        ("Assistant B is clearly better because it follows the instructions.", "B"),
        ("Final verdict: A", "A"),
        ("**Verdict:** B", "B"),
        ("It's a tie.", "C"),
        ("Both answers discuss the topic.", None),
        ("", None),
    ],
)
def test_parse_preference(text: str, expected: str | None) -> None:
    assert parse_preference(text) == expected
