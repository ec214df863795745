"""Lenient parsers for model output. Each returns None when nothing usable was found, so the
caller can take its documented fallback and count it."""

from __future__ import annotations

import json
import re
from typing import Any

_INDEX = re.compile(r"\[?\(?\b(\d{1,3})\b\)?\]?")
# A section starts at a line beginning `[2]`, `Answer 2`, `Response #2` or `2.` / `2)` / `2:`.
_SECTION = re.compile(
    r"^\s*(?:\*\*)?\s*(?:\[(\d{1,3})\]|(?:answer|response|candidate)\s*#?\s*(\d{1,3})|(\d{1,3})[.):])",
    re.IGNORECASE | re.MULTILINE,
)


def parse_ranking(text: str, n: int) -> list[int] | None:
    """Zero-based order of `n` candidates from `[2] > [1] > [3]` or any list of their numbers.

    Numbers out of range and repeats are skipped; candidates the model left out keep their
    original relative order after the ranked ones. None if no valid number appears.
    """
    numbers = json_field(text, "ranking")
    if isinstance(numbers, list) and numbers:
        return order_from_numbers(numbers, n)
    bracketed = re.findall(r"\[(\d{1,3})\]", text)
    tokens = bracketed or [m.group(1) for m in _INDEX.finditer(text)]
    return order_from_numbers(tokens, n)


def order_from_numbers(numbers: list[Any], n: int) -> list[int] | None:
    """1-based candidate numbers → a zero-based order of all n (see parse_ranking)."""
    order: list[int] = []
    for tok in numbers:
        try:
            idx = int(tok) - 1
        except (TypeError, ValueError):
            continue
        if 0 <= idx < n and idx not in order:
            order.append(idx)
    if not order:
        return None
    return order + [i for i in range(n) if i not in order]


def json_field(text: str, key: str) -> Any:
    """`key` of the JSON object a (schema-constrained) reply holds; None when there is none."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        return None
    try:
        data = json.loads(text[start:end + 1])
    except ValueError:
        return None
    return data.get(key) if isinstance(data, dict) else None


def split_critiques(text: str, n: int) -> list[str] | None:
    """Split one critique text into `n` per-candidate parts, by `[i]`, `Answer i`, `i.` markers.

    Returns None unless every candidate 1..n got a non-empty section.
    """
    listed = json_field(text, "critiques")
    if isinstance(listed, list) and len(listed) == n and all(isinstance(c, str) and c.strip() for c in listed):
        return [c.strip() for c in listed]
    sections: dict[int, str] = {}
    marks = list(_SECTION.finditer(text))
    for pos, mark in enumerate(marks):
        number = int(next(g for g in mark.groups() if g))
        end = marks[pos + 1].start() if pos + 1 < len(marks) else len(text)
        body = text[mark.end():end].strip(" :-*\n")
        if 1 <= number <= n and body and number not in sections:
            sections[number] = body
    if n == 1 and not sections and text.strip():
        return [text.strip()]
    if len(sections) != n:
        return None
    return [sections[i] for i in range(1, n + 1)]


_NEGATIVE = re.compile(r"\b(no|incorrect|not correct|wrong|false|invalid|fails?)\b", re.IGNORECASE)
_POSITIVE = re.compile(r"\b(yes|correct|right|true|valid|pass(?:es)?)\b", re.IGNORECASE)


def parse_verdict(text: str) -> bool | None:
    """Yes/No verdict: the first decisive word wins; None when there is none."""
    correct = json_field(text, "correct")
    if isinstance(correct, bool):
        return correct
    neg = _NEGATIVE.search(text)
    pos = _POSITIVE.search(text)
    if neg and (not pos or neg.start() <= pos.start()):
        return False
    if pos:
        return True
    return None


_TEST_LINE = re.compile(r"^\s*(?:[-*]|\d+[.)])?\s*(.+?)\s*$")


def parse_tests(text: str, limit: int) -> list[str] | None:
    """Unit tests, one per line: `assert` lines when present, else list items."""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("```")]
    asserts = [ln.strip() for ln in lines if ln.strip().startswith("assert")]
    if asserts:
        return asserts[:limit]
    items = []
    for ln in lines:
        m = _TEST_LINE.match(ln)
        if m and len(m.group(1)) > 3:
            items.append(m.group(1))
    return items[:limit] or None


def parse_pass_fail(text: str, n_tests: int) -> int | None:
    """How many of `n_tests` a judge marked as passing (lines with PASS/FAIL)."""
    results = json_field(text, "results")
    if isinstance(results, list) and results and all(isinstance(r, str) for r in results):
        return sum(1 for r in results[:n_tests] if r.upper() == "PASS")
    verdicts = re.findall(r"\b(pass(?:es|ed)?|fail(?:s|ed)?)\b", text, re.IGNORECASE)
    if not verdicts:
        return None
    passed = sum(1 for v in verdicts[:n_tests] if v.lower().startswith("pass"))
    return passed


def parse_score(text: str, low: int, high: int) -> int | None:
    """An integer score in [low, high]: `{"score": 7}`, else the first such number in the text."""
    value = json_field(text, "score")
    if isinstance(value, int) and low <= value <= high:
        return value
    for tok in re.findall(r"\b\d{1,3}\b", text):
        if low <= int(tok) <= high:
            return int(tok)
    return None
