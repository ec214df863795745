"""Final-answer extraction shared by majority vote and the scorers.

Small models rarely follow an answer format, so extraction tries, in order: the last
`\\boxed{...}`, an "answer is/Answer:" phrase, the last number, and finally the whole text.
"""

from __future__ import annotations

import re

_BOXED = re.compile(r"\\boxed\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}")
_ANSWER_PHRASE = re.compile(
    r"(?:final answer|answer)\s*(?:is|:|=)\s*[:\s]*\$?([^\n$]+?)\$?\s*(?:[.!]\s*)?(?:\n|$)",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?|-?\.\d+")


def last_number(text: str) -> str | None:
    matches = _NUMBER.findall(text)
    return normalize_number(matches[-1]) if matches else None


def normalize_number(token: str) -> str:
    """`1,000.50` → `1000.5`; `42.0` → `42`; fractions stay as written."""
    token = token.replace(",", "").strip()
    if "/" in token:
        return token
    try:
        value = float(token)
    except ValueError:
        return token
    if value.is_integer():
        return str(int(value))
    return repr(value)


def extract_answer(text: str) -> str:
    """The most likely final answer in `text`, normalized for comparison and voting."""
    boxed = _BOXED.findall(text)
    if boxed:
        return _normalize(boxed[-1])
    phrase = _ANSWER_PHRASE.findall(text)
    if phrase:
        number = last_number(phrase[-1])
        return number if number is not None else _normalize(phrase[-1])
    number = last_number(text)
    if number is not None:
        return number
    return _normalize(text)


def _normalize(text: str) -> str:
    text = text.strip().strip(".").strip()
    number = _NUMBER.fullmatch(text)
    if number:
        return normalize_number(text)
    return " ".join(text.lower().split())
