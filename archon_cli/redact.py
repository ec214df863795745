"""The one redactor: every provider or library error text passes here before it is printed,
logged or persisted (providers' `error_text`, the pipeline's per-example errors, the run log,
the CLI's error line, the loggers of the client libraries).

What goes: the values of the key variables models name (`api_key_env`) and of the usual key
variables present in the environment (`OPENAI_API_KEY`, `HF_TOKEN`, `AWS_SECRET_ACCESS_KEY`, ...),
`Authorization:`/`Bearer ...` credentials, `api-key`/`x-api-key` headers and `?key=` query
parameters, and `sk-...`-style tokens. Each becomes `***`.
"""

from __future__ import annotations

import logging
import os
import re

MASK = "***"
# Environment variables whose values are credentials (litellm reads most of them).
SECRET_ENV = re.compile(r"(API_KEY|APIKEY|_TOKEN|_SECRET|SECRET_KEY|ACCESS_KEY|PASSWORD|_KEY)$", re.IGNORECASE)
MIN_SECRET_LEN = 6  # shorter values ("none", "1") are not secrets and would mask ordinary words
_KEY_ENV_NAMES: set[str] = set()

_PATTERNS = (
    # Authorization: Bearer abc / "authorization": "Basic abc" / Proxy-Authorization=...
    (re.compile(r"""((?:proxy-)?authorization["']?\s*[:=]\s*["']?)(?:(?:bearer|basic|token)\s+)?[^\s"',;}]+""",
                re.IGNORECASE), rf"\g<1>{MASK}"),
    (re.compile(r"\b(bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE), rf"\g<1>{MASK}"),
    # api-key / x-api-key / api_key / x-goog-api-key headers, JSON fields and query parameters
    (re.compile(r"""((?:x-(?:goog-)?)?api[-_]?key["']?\s*[:=]\s*["']?)[^\s"',;}&]+""", re.IGNORECASE),
     rf"\g<1>{MASK}"),
    (re.compile(r"([?&](?:key|token|access_token)=)[^&\s\"']+", re.IGNORECASE), rf"\g<1>{MASK}"),
    # OpenAI/Anthropic/... style tokens: sk-..., sk-proj-..., sk-ant-...
    (re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"), MASK),
)


def register_key_env(name: str | None) -> None:
    """A variable a model names as holding its key (`api_key_env`): its value is always masked."""
    if name:
        _KEY_ENV_NAMES.add(name)


def secret_values() -> list[str]:
    """Current values of every key variable, longest first (a key may contain a shorter one)."""
    values = {v for k, v in os.environ.items() if (k in _KEY_ENV_NAMES or SECRET_ENV.search(k))
              and len(v) >= MIN_SECRET_LEN}
    return sorted(values, key=len, reverse=True)


def redact(text: str) -> str:
    for value in secret_values():
        text = text.replace(value, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def error_text(exc: BaseException, limit: int = 300) -> str:
    """An exception's message, redacted, on one line, cut to `limit` characters (after
    redacting, so a cut cannot leave half a key unrecognised)."""
    text = redact(" ".join(str(exc).split()))
    return text[:limit] + ("…" if len(text) > limit else "")


class RedactingFilter(logging.Filter):
    """Redacts log records of client libraries (litellm, httpx, openai) before any handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.msg += " | " + error_text(record.exc_info[1])
            record.exc_info = None  # a traceback's frames may hold request headers
        return True


def redact_library_logs(*names: str) -> None:
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
