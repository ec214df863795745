"""Structured outputs: the JSON schemas components ask engines to enforce.

A component that needs a machine-readable reply (a ranking, a verdict, PASS/FAIL per test, a
critique per candidate, a score) attaches a schema to its request. `structured` (a component
param) decides where it goes: `auto` to providers that enforce schemas (the embedded llama.cpp
server, vLLM, litellm models its map marks as supporting `response_format`), `on` to every
provider (an OpenAI-compatible endpoint the tool cannot vouch for), `off` nowhere (the
requests are then exactly those of earlier versions, cache keys included). The reply is read as
JSON first and with the lenient parsers otherwise, so an unconstrained reply still works.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator


def _yaml_bool(value: Any) -> Any:
    """YAML reads a bare `on` / `off` as a boolean."""
    return ("on" if value else "off") if isinstance(value, bool) else value


Structured = Annotated[Literal["auto", "on", "off"], BeforeValidator(_yaml_bool)]

# Reply budgets when a schema is sent: llama.cpp's grammar lets the model pretty-print (a newline
# and indentation per item), so a JSON reply needs a fixed part plus a few tokens per item.
JSON_BASE_TOKENS = 24
JSON_ITEM_TOKENS = 6


def reply_tokens(items: int = 0) -> int:
    return JSON_BASE_TOKENS + JSON_ITEM_TOKENS * items


def _object(key: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {key: value}, "required": [key], "additionalProperties": False}


def ranking(n: int) -> dict[str, Any]:
    """`{"ranking": [2, 1, 3]}`: n candidate numbers, best first."""
    return _object("ranking", {"type": "array", "items": {"type": "integer", "enum": list(range(1, n + 1))},
                               "minItems": n, "maxItems": n})


def verdict() -> dict[str, Any]:
    """`{"correct": true}`: short enough for a verdict's few tokens."""
    return _object("correct", {"type": "boolean"})


def pass_fail(n_tests: int) -> dict[str, Any]:
    """`{"results": ["PASS", "FAIL"]}`: one verdict per unit test, in order."""
    return _object("results", {"type": "array", "items": {"type": "string", "enum": ["PASS", "FAIL"]},
                               "minItems": n_tests, "maxItems": n_tests})


def critiques(n: int, max_chars: int) -> dict[str, Any]:
    """`{"critiques": ["...", "..."]}`: one per candidate, each short enough that all n fit in
    the reply's token budget (a cut-off reply would not parse)."""
    return _object("critiques", {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": max_chars},
                                 "minItems": n, "maxItems": n})


def score(low: int, high: int) -> dict[str, Any]:
    """`{"score": 7}`: an integer in [low, high]."""
    return _object("score", {"type": "integer", "enum": list(range(low, high + 1))})
