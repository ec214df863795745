"""The `numeric` scorer against math-verify on a generated set of answer formats: they agree
on every format but the ones listed in KNOWN_DIFFERENCES, where we read the answer and
math-verify does not (README: "Answer extraction and the references")."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from archon_cli.tasks import SCORERS
from archon_cli.tasks.base import Example


def _grouped(v: int, sep: str) -> str:
    return f"{v:,}".replace(",", sep)


# name → (text for the gold value v, which values it applies to)
FORMATS: dict[str, tuple[Callable[[int, random.Random], str], Callable[[int], bool]]] = {
    "plain": (lambda v, r: f"{v}", lambda v: True),
    "answer_is": (lambda v, r: f"The answer is {v}.", lambda v: True),
    "answer_is_then_steps": (lambda v, r: f"The answer is {v}. I needed {r.randint(2, 9)} steps.", lambda v: True),
    "final_answer_colon": (lambda v, r: f"Final answer: {v}", lambda v: True),
    "bold_answer": (lambda v, r: f"The answer is **{v}**.", lambda v: True),
    "boxed": (lambda v, r: f"So we get \\boxed{{{v}}}.", lambda v: True),
    "gsm_hashes": (lambda v, r: f"Adding up gives {v}.\n#### {v}", lambda v: True),
    "equation_result": (lambda v, r: f"{v - 7} + 7 = {v}", lambda v: True),
    "answer_first_equation": (lambda v, r: f"{v} = {v - 7} + 7", lambda v: True),
    "answer_first_explanation": (lambda v, r: f"{v}\n\nExplanation: I added the {r.randint(2, 9)} numbers.",
                                 lambda v: True),
    "chain_last_line": (lambda v, r: f"First, 3 + 4 = 7.\nThen 7 + {v - 7} = {v}.", lambda v: True),
    "comma_thousands": (lambda v, r: f"The answer is {v:,}.", lambda v: abs(v) >= 1000),
    "spaced_thousands": (lambda v, r: f"The answer is {_grouped(v, ' ')}.", lambda v: abs(v) >= 1000),
    "narrow_space_thousands": (lambda v, r: f"The answer is {_grouped(v, chr(0x202F))}.", lambda v: abs(v) >= 1000),
    "dollars": (lambda v, r: f"It costs ${v:,} in total.", lambda v: v > 0),
    "unicode_minus": (lambda v, r: f"The answer is \u2212{-v}.", lambda v: v < 0),
    "spaced_minus": (lambda v, r: f"The answer is - {-v}.", lambda v: v < 0),
    "wrong_answer": (lambda v, r: f"The answer is {v + 1}.", lambda v: True),
}
# Formats where the two disagree, on purpose: we score 1, math-verify 0.
KNOWN_DIFFERENCES = {
    "answer_first_explanation",  # math-verify takes the last number ("the 2 numbers" → 2)
    "narrow_space_thousands",  # it reads "28\u202f080" as 80
    "unicode_minus",  # it parses nothing from "−28"
    "spaced_minus",  # it reads "is - 28" as 28
}


def generated(seed: int = 0) -> list[tuple[str, int, str]]:
    rng = random.Random(seed)
    values = [rng.randint(10, 999) for _ in range(6)] + [rng.randint(1000, 999_999) for _ in range(6)]
    values += [-rng.randint(10, 999) for _ in range(4)] + [-rng.randint(1000, 99_999) for _ in range(4)]
    return [(name, v, make(v, rng)) for name, (make, applies) in FORMATS.items() for v in values if applies(v)]


def math_verify_score(gold: int, text: str) -> float:
    from math_verify import parse, verify

    return float(verify(parse(f"${gold}$"), parse(text)))


def test_numeric_agrees_with_math_verify_except_the_known_differences() -> None:
    pytest.importorskip("math_verify")
    numeric = SCORERS.get("numeric")()
    cases = generated()
    assert len(cases) >= 250
    disagreeing: dict[str, list[str]] = {}
    for name, gold, text in cases:
        ours = numeric.score(Example("x", "q", reference=str(gold)), text)
        expected = 0.0 if name == "wrong_answer" else 1.0
        assert ours == expected, (name, text)  # every format is read (and the wrong one is wrong)
        if ours != math_verify_score(gold, text):
            disagreeing.setdefault(name, []).append(text)
    assert set(disagreeing) == KNOWN_DIFFERENCES, {k: v[:2] for k, v in disagreeing.items()}
    # Within a known difference, math-verify fails on every case of it (a format, not a fluke).
    for name, texts in disagreeing.items():
        assert len(texts) == sum(1 for n, _, _ in cases if n == name), name
