"""Final-answer extraction shared by majority vote and the scorers.

Small models rarely follow an answer format, so extraction tries, in order: the last
`\\boxed{...}`; GSM8K's `#### 42`; the sentence after the last "answer is/Answer:" phrase ("The
answer is 42. I needed 3 steps." → 42); an answer written first (a first line that is a number,
or "42 = 39 + 3"); the last line with a number (of an equation, its result: "17 + 25 = 42" → 42);
and finally the whole text. Numbers may use a Unicode minus ("−28"), a spaced minus after a word
("is - 28"), and thousands separated by commas or spaces ("28,080", "28 080", "28\u202f080").
"""

from __future__ import annotations

import re

_BOXED = re.compile(r"\\boxed\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}")
_GSM = re.compile(r"^\s*####\s*(.+)$", re.MULTILINE)
_ANSWER_PHRASE = re.compile(r"(?:final answer|answer)\s*(?:is|:|=)", re.IGNORECASE)
# The end of the answer's sentence: a full stop, ! or ? before a space or the end, or a line end.
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|\n")
MINUS_SIGNS = "-\u2212\u2012\u2013\ufe63\uff0d"
_GROUP_SPACES = " \u00a0\u2009\u202f"  # space, no-break, thin, narrow no-break
_NUMBER = re.compile(
    rf"(?P<sign>[{MINUS_SIGNS}] ?)?(?<![\w.])(?P<num>(?:\d{{1,3}}(?:,\d{{3}})+(?![\d])"
    rf"|\d{{1,3}}(?:[{_GROUP_SPACES}]\d{{3}})+(?![\w-])|\d+)(?:\.\d+)?(?:/\d+)?|\.\d+)"
)
_BULLET = re.compile(r"^\s*[-*+]\s+(?=\S)")  # "- 4 apples": a list item, not a minus
_EQUALS = re.compile(r"(?<![<>!=])=(?!=)")
_MARKUP = "*$`_ \t"


def numbers(text: str) -> list[str]:
    """The numbers in `text`, normalized, in order."""
    found = []
    for m in _NUMBER.finditer(text):
        negative = m.group("sign") is not None and _is_sign(text, m.start(), m.group("sign"))
        found.append(normalize_number(("-" if negative else "") + m.group("num")))
    return found


def last_number(text: str) -> str | None:
    found = numbers(text)
    return found[-1] if found else None


def normalize_number(token: str) -> str:
    """`1,000.50` → `1000.5`; `28 080` → `28080`; `−3` → `-3`; `42.0` → `42`; fractions stay as written."""
    token = token.strip()
    if token[:1] in MINUS_SIGNS:
        token = "-" + token[1:].lstrip()
    token = re.sub(rf"[,{_GROUP_SPACES}]", "", token)
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
    gsm = _GSM.findall(text)
    if gsm and (found := numbers(gsm[-1])):
        return found[0]
    phrases = list(_ANSWER_PHRASE.finditer(text))
    if phrases:
        rest = text[phrases[-1].end():].lstrip(" \t:*$")
        end = _SENTENCE_END.search(rest)
        sentence = rest[:end.start()] if end else rest
        picked = _in_sentence(sentence)
        return picked if picked is not None else _normalize(sentence)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) > 1 and (first := _answer_first(lines[0])) is not None:
        return first
    with_numbers = [_BULLET.sub("", ln) if len(lines) > 1 else ln for ln in lines if numbers(ln)]
    if with_numbers:
        line = with_numbers[-1]
        return _result_of(line) or numbers(line)[-1]
    return _normalize(text)


def _is_sign(text: str, start: int, sign: str) -> bool:
    """Whether the dash at `start` is a minus sign: not after an operand ("30 - 28", "x-1"), not
    a hyphen ("COVID-19"), not a list bullet ("- 28 apples" opening a line of a longer reply)."""
    before = text[:start]
    stripped = before.rstrip(" \t")
    if not stripped or stripped.endswith("\n"):
        bullet = sign.startswith("-") and sign.endswith(" ")
        return not (bullet and text.strip() != text[start:].split("\n", 1)[0].strip())
    last = stripped[-1]
    if last.isdigit() or last in ")]}":
        return False
    return not (last.isalpha() and stripped == before)


def _in_sentence(sentence: str) -> str | None:
    """The answer in the sentence after "the answer is": an equation's result, else its first number."""
    found = numbers(sentence)
    if not found:
        return None
    return _result_of(sentence) or found[0]


def _result_of(line: str) -> str | None:
    """In an equation, the rightmost side that is a single number ("17 + 25 = 42", "42 = 39 + 3")."""
    sides = _EQUALS.split(line)
    if len(sides) < 2:
        return None
    for side in reversed(sides):
        found = numbers(side)
        if len(found) == 1:
            return found[0]
    return None


def _answer_first(line: str) -> str | None:
    """A first line that is just a number ("42", "**42**.") or an equation led by one ("42 = 39 + 3")."""
    lead = _EQUALS.split(line)[0].strip(_MARKUP).rstrip(".").strip(_MARKUP)
    found = numbers(lead)
    if len(found) == 1 and _NUMBER.fullmatch(lead):
        return found[0]
    return None


def _normalize(text: str) -> str:
    text = text.strip().strip(".").strip()
    bare = text.strip(_MARKUP).rstrip(".")
    if _NUMBER.fullmatch(bare):
        return numbers(bare)[0]
    return " ".join(text.lower().split())
