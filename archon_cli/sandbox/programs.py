"""Pull runnable code out of model output and put a runnable program together (pure text work)."""

from __future__ import annotations

import re

_FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)


def extract_code(text: str, entry_point: str | None = None) -> str:
    """The code in `text`, leniently: the fenced block that defines `entry_point` (else the
    longest Python-looking block), an unclosed fence up to the end, or the whole text."""
    blocks = [(lang.lower(), body) for lang, body in _FENCE.findall(text)]
    if not blocks:
        return text.strip("\n")
    if entry_point:
        defining = [body for _, body in blocks if _defines(body, entry_point)]
        if defining:
            return defining[0].rstrip()
    python = [body for lang, body in blocks if lang in ("", "python", "py", "python3")] or [b for _, b in blocks]
    return max(python, key=len).rstrip()


def build_program(code: str, entry_point: str | None, prompt: str | None) -> str:
    """A complete module: `code` alone, or after the task's `prompt` (signature + docstring) so
    that a body-only completion continues it and a full definition gets the prompt's imports."""
    if not prompt:
        return code
    if entry_point and _defines(code, entry_point):
        return f"{prompt.rstrip()}\n    pass\n\n\n{code}\n"
    if code and not code[:1].isspace():  # a body the model did not indent
        code = "\n".join("    " + line for line in code.splitlines())
    return f"{prompt.rstrip()}\n{code}\n"


def _defines(code: str, entry_point: str) -> bool:
    return re.search(rf"^\s*(?:async\s+)?def\s+{re.escape(entry_point)}\s*\(", code, re.MULTILINE) is not None
