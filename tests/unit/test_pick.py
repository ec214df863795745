"""The search's pick: `top` is the most accurate trial; `best` the cheapest within one standard
error of it among trials scored on as many examples (the one-standard-error rule)."""

from __future__ import annotations

from typing import Any

from archon_cli.search.results import pick


def row(number: int, accuracy: float, calls: int, n: int = 50) -> dict[str, Any]:
    return {"number": number, "state": "COMPLETE", "outcome": "complete", "accuracy": accuracy,
            "calls_per_query": calls, "n_examples": n}


def test_best_is_the_cheapest_within_one_standard_error_of_the_top() -> None:
    # top 0.30 on 50: one standard error is sqrt(0.3 * 0.7 / 50) = 0.065
    rows = [row(0, 0.30, 6), row(1, 0.24, 1), row(2, 0.22, 1), row(3, 0.28, 3)]
    assert pick(rows, "top")["number"] == 0
    assert pick(rows, "best")["number"] == 1  # 0.24 ≥ 0.235; 0.22 is not within one SE


def test_best_is_the_top_when_nothing_cheaper_is_within_noise() -> None:
    rows = [row(0, 0.60, 6, n=400), row(1, 0.50, 1, n=400)]
    assert pick(rows, "best")["number"] == pick(rows, "top")["number"] == 0

