"""Read a verdict out of an LLM judge's free text. None means no verdict could be found; the
scorer turns that into a ScoreError (an unscored example), never a zero."""

from __future__ import annotations

import re

_NUM = r"(\d{1,2}(?:\.\d+)?)"
# Most explicit first; within one pattern the last match wins (judges reason before they rate).
_RATING_PATTERNS = [
    re.compile(rf"\[\[\s*{_NUM}\s*(?:/\s*10)?\s*\]\]"),
    re.compile(rf"\b(?:rating|score|grade|verdict)\b[\s*_:=\-–]*(?:is|of|would be|:)?[\s*_:=\-–]*\[?\s*{_NUM}\s*\]?"
               rf"(?:\s*(?:/|out of)\s*10)?", re.IGNORECASE),
    re.compile(rf"(?<![\d.]){_NUM}\s*(?:/|out of)\s*10\b", re.IGNORECASE),
    re.compile(rf"\b(?:give|rate|assign)\w*\s+(?:it|this|the (?:answer|response))?\s*(?:an?\s+)?{_NUM}\b",
               re.IGNORECASE),
]


def parse_rating(text: str, low: float = 1, high: float = 10) -> float | None:
    """A 1–10 rating from "Rating: [[7]]", "I'd give it 8/10", "**Score:** 6", "7.5 out of 10"..."""
    for pattern in _RATING_PATTERNS:
        values = [float(m.group(1)) for m in pattern.finditer(text)]
        values = [v for v in values if low <= v <= high]
        if values:
            return values[-1]
    return None


_BRACKETED = re.compile(r"\[\[\s*(A|B|C|tie)\s*\]\]", re.IGNORECASE)
_WORDED = [
    (re.compile(r"\b(?:assistant|answer|response)\s+([AB])\s+(?:is|was)\s+(?:clearly\s+|slightly\s+|much\s+)?better",
                re.IGNORECASE), None),
    (re.compile(r"\b(?:final\s+)?verdict\s*(?:is)?\s*[:\-]?\s*\**\s*\[?([ABC])\b\]?", re.IGNORECASE), None),
    (re.compile(r"\b(?:it'?s\s+a\s+tie|both\s+are\s+equally\s+good|\btie\b)", re.IGNORECASE), "C"),
]


def parse_preference(text: str) -> str | None:
    """"A", "B" or "C" (tie) from "[[A]]", "Assistant B is better", "Final verdict: C", "it's a tie"."""
    bracketed = _BRACKETED.findall(text)
    if bracketed:
        last = bracketed[-1].upper()
        return "C" if last == "TIE" else last
    for pattern, fixed in _WORDED:
        found = pattern.findall(text)
        if found:
            return fixed or str(found[-1]).upper()
    return None
