"""Typed errors. Raised anywhere, rendered once at the CLI edge (cli/app.py).

Each class carries the process exit code the CLI uses for it.
"""

from __future__ import annotations


class ArchonError(Exception):
    """Base of every error the tool raises on purpose."""

    exit_code = 1


class ConfigError(ArchonError):
    """A file or argument the user gave is invalid (exit 2).

    `problems` holds one line per problem, each naming the file and YAML path.
    """

    exit_code = 2

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []

    def __str__(self) -> str:
        head = super().__str__()
        if not self.problems:
            return head
        return head + "\n" + "\n".join(f"  {p}" for p in self.problems)


class MissingDependencyError(ArchonError):
    """An optional dependency is not installed; the message says how to install it."""

    exit_code = 2


class LLMCallError(ArchonError):
    """An LLM call failed after all retries."""


class EngineError(ArchonError):
    """An inference engine could not be started or died."""


class DatasetError(ArchonError):
    """A dataset could not be loaded; bad rows name their line."""

    exit_code = 2


class BudgetExceeded(ArchonError):
    """A compute budget was exhausted."""
