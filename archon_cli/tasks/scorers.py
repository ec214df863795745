"""Built-in scorers for short answers."""

from __future__ import annotations

from archon_cli.answers import extract_answer, normalize_number
from archon_cli.tasks import SCORERS
from archon_cli.tasks.base import Example, Scorer


@SCORERS.register("numeric")
class NumericScorer(Scorer):
    """1 if the output's final number equals the reference ("The answer is 42." → 42)."""

    name = "numeric"

    def score(self, example: Example, output: str) -> float:
        if example.reference is None:
            return 0.0
        predicted = extract_answer(output)
        expected = normalize_number(example.reference)
        try:
            return float(abs(float(predicted) - float(expected)) < 1e-6)
        except ValueError:
            return float(predicted == expected)


@SCORERS.register("exact")
class ExactScorer(Scorer):
    name = "exact"

    def score(self, example: Example, output: str) -> float:
        return float(output.strip() == (example.reference or "").strip())
