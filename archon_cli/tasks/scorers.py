"""Built-in scorers for short answers: exact, normalized, numeric, math, contains, regex, choice."""

from __future__ import annotations

import re
import threading
import unicodedata

from archon_cli.answers import extract_answer, normalize_number
from archon_cli.tasks import SCORERS
from archon_cli.tasks.base import Example, ScoreError, Scorer


def _reference(example: Example) -> str:
    if example.reference is None:
        raise ScoreError(f"example {example.id} has no reference answer")
    return example.reference


@SCORERS.register("numeric")
class NumericScorer(Scorer):
    """1 if the output's final number equals the reference ("The answer is 42." → 42)."""

    name = "numeric"
    votable = True
    description = "final number equals the reference"

    def score(self, example: Example, output: str) -> float:
        predicted = extract_answer(output)
        expected = normalize_number(_reference(example))
        try:
            return float(abs(float(predicted) - float(expected)) < 1e-6)
        except ValueError:
            return float(predicted == expected)


@SCORERS.register("exact")
class ExactScorer(Scorer):
    name = "exact"
    votable = True
    description = "output equals the reference (surrounding whitespace ignored)"

    def score(self, example: Example, output: str) -> float:
        return float(output.strip() == _reference(example).strip())


def normalize_text(text: str) -> str:
    """SQuAD-style: casefold, strip accents, punctuation and articles, collapse whitespace."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^\w\s]", " ", text)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


@SCORERS.register("normalized")
class NormalizedExactScorer(Scorer):
    name = "normalized"
    votable = True
    description = "output equals the reference after normalizing case, punctuation, articles"

    def score(self, example: Example, output: str) -> float:
        return float(normalize_text(output) == normalize_text(_reference(example)))


@SCORERS.register("contains")
class ContainsScorer(Scorer):
    name = "contains"
    description = "the normalized reference appears in the normalized output"

    def score(self, example: Example, output: str) -> float:
        ref = normalize_text(_reference(example))
        return float(bool(ref) and re.search(rf"(?:^|\s){re.escape(ref)}(?:\s|$)", normalize_text(output)) is not None)


@SCORERS.register("regex")
class RegexScorer(Scorer):
    name = "regex"
    description = "the reference is a regular expression the output must match (re.search)"

    def score(self, example: Example, output: str) -> float:
        try:
            pattern = re.compile(_reference(example), re.IGNORECASE | re.MULTILINE)
        except re.error as exc:
            raise ScoreError(f"example {example.id}: bad regular expression in reference: {exc}") from None
        return float(pattern.search(output) is not None)


LETTERS = "ABCDEFGHIJ"
_CHOICE_PATTERNS = [
    re.compile(r"answer\s*(?:is|:)?\s*[:\s]*\(?\**\s*([A-J])\b", re.IGNORECASE),
    re.compile(r"\(([A-J])\)"),
    re.compile(r"\*\*([A-J])\b"),
    re.compile(r"^\s*([A-J])\s*(?:[.):]|$)", re.MULTILINE),
    re.compile(r"\b([A-J])\b"),
]


def extract_choice(output: str, choices: tuple[str, ...] | None = None) -> str | None:
    """The chosen letter: "Answer: B", "(B)", "**B**", "B.", a lone B, or the text of a choice."""
    allowed = LETTERS[: len(choices)] if choices else "ABCD"
    for pattern in _CHOICE_PATTERNS:
        for match in pattern.finditer(output):
            letter = match.group(1).upper()
            if letter in allowed and not (pattern is _CHOICE_PATTERNS[-1] and letter == "A" and
                                          re.search(r"\bA\s+[a-z]", output[match.start():match.start() + 4])):
                return letter
    if choices:  # the model wrote the choice's text instead of its letter
        norm = normalize_text(output)
        hits = [LETTERS[i] for i, c in enumerate(choices) if normalize_text(c) and normalize_text(c) in norm]
        if len(hits) == 1:
            return hits[0]
    return None


@SCORERS.register("choice")
class ChoiceScorer(Scorer):
    name = "choice"
    votable = True
    description = "multiple choice: the chosen letter (A/B/C/D...) equals the reference letter or choice"

    def score(self, example: Example, output: str) -> float:
        ref = _reference(example).strip()
        if len(ref) != 1 and example.choices:  # the reference is the text of the right choice
            matches = [LETTERS[i] for i, c in enumerate(example.choices) if normalize_text(c) == normalize_text(ref)]
            ref = matches[0] if matches else ref
        return float(extract_choice(output, example.choices) == ref.upper())


@SCORERS.register("math")
class MathScorer(Scorer):
    """Equivalent expressions (`1/2` = `0.5` = `\\frac{1}{2}`), by the math-verify library."""

    name = "math"
    votable = True
    description = "mathematically equivalent to the reference (math-verify)"

    def score(self, example: Example, output: str) -> float:
        from math_verify import parse, verify

        # math-verify's timeouts use SIGALRM, which only works in the main thread.
        timeout = 5 if threading.current_thread() is threading.main_thread() else None
        ref = _reference(example)
        gold = parse(ref if "$" in ref or "\\boxed" in ref else f"${ref}$", parsing_timeout=timeout)
        if not gold:
            raise ScoreError(f"example {example.id}: math-verify cannot parse the reference {ref!r}")
        predicted = parse(output, parsing_timeout=timeout)
        return float(bool(predicted) and verify(gold, predicted, timeout_seconds=timeout))
