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
        if not output.strip():  # no answer; "" would equal a blank reference
            return 0.0
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
        return float(bool(output.strip()) and output.strip() == _reference(example).strip())


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
        ref = _reference(example)
        if not normalize_text(ref):  # a reference that is all articles/punctuation ("The", "A")
            return float(bool(output.strip()) and _light(output) == _light(ref))
        return float(normalize_text(output) == normalize_text(ref))


def _light(text: str) -> str:
    return " ".join(text.casefold().split()).strip(".!?")


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
        return float(bool(output.strip()) and pattern.search(output) is not None)


LETTERS = "ABCDEFGHIJ"
# Most explicit marker first; within a kind the last match wins (a chain of thought ends with its
# conclusion). Letters are capitals only: "the answer is a city" names no choice.
_CHOICE_PATTERNS = [
    re.compile(r"(?i:answer|choice|option)\s*(?:is|:)?\s*[:\s]*(?:\*\*|\()*\s*([A-J])(?![\w'])"),
    re.compile(r"\(([A-J])\)"),
    re.compile(r"\*\*([A-J])(?:[.):][^*\n]*)?\*\*"),
    re.compile(r"^\s*([A-J])\s*(?:[.):]|$)", re.MULTILINE),
    re.compile(r"(?<![\w'])([A-J])(?![\w'])"),
]
_BARE = _CHOICE_PATTERNS[-1]
_WHOLE_REPLY = re.compile(r"\s*\(?([A-Ja-j])\)?\s*[.):]?\s*")  # "a", "(a)", "B." as the entire reply


def extract_choice(output: str, choices: tuple[str, ...] | None = None) -> str | None:
    """The chosen letter: "Answer: B", "(B)", "**B**", "B.", a lone B, a reply that is just "a"
    or "(a)", or the text of a choice. A lone "A" or "I" followed by a lowercase word is an
    article or a pronoun ("A cat", "I think"), not a choice."""
    allowed = LETTERS[: len(choices)] if choices else "ABCD"
    whole = _WHOLE_REPLY.fullmatch(output)
    if whole and whole.group(1).upper() in allowed:
        return whole.group(1).upper()
    for pattern in _CHOICE_PATTERNS:
        found = [m.group(1) for m in pattern.finditer(output)
                 if m.group(1) in allowed and not (pattern is _BARE and _is_word(output, m))]
        if found:
            return found[-1]
    if choices:  # the model wrote the choice's text instead of its letter
        norm = normalize_text(output)
        hits = [LETTERS[i] for i, c in enumerate(choices) if normalize_text(c) and normalize_text(c) in norm]
        if len(hits) == 1:
            return hits[0]
    return None


def _is_word(text: str, match: re.Match[str]) -> bool:
    return match.group(1) in "AI" and re.match(r"\s+[a-z]", text[match.end():]) is not None


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
