"""Shared rendering for commands (rich is imported lazily)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from archon_cli.llm.usage import Usage


def console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def usage_line(u: Usage, wall_s: float | None = None) -> str:
    parts = [
        f"calls {u.calls} (engine {u.engine_calls}, cache hits {u.cache_hits})",
        f"tokens {u.prompt_tokens} in / {u.completion_tokens} out",
        f"engine latency {u.latency_s:.1f}s",
    ]
    if wall_s is not None:
        parts.append(f"wall {wall_s:.1f}s")
    parts.append(f"${u.usd:.4f}")
    if u.fallbacks:
        parts.append("fallbacks " + ", ".join(f"{k}={v}" for k, v in sorted(u.fallbacks.items())))
    return " · ".join(parts)
