"""The catalog of user-facing errors. Raised anywhere, rendered once at the CLI edge (cli/app.py).

Each class carries the process exit code the CLI uses for it: 2 for bad input (a file, an
argument, a missing optional dependency), 1 for runtime failures and run-state problems, 130
for an interruption. Internal signals that steer control flow (a transient LLM failure, an
infeasible architecture, a spent budget, an unscorable output) are not user errors: they are
plain exceptions next to the code that raises and catches them.
"""

from __future__ import annotations


class ArchonError(Exception):
    """Base of every error the tool reports to a user."""

    exit_code = 1


class ConfigError(ArchonError):
    """A file or argument the user gave is invalid (exit 2).

    `problems` holds one line per problem, each naming the file and YAML path. The message shows
    the first `MAX_SHOWN` (each cut at `MAX_LINE` characters) and says how many more there are:
    a file with 200k typos gets a screenful, not 200k lines.
    """

    exit_code = 2
    MAX_SHOWN = 15
    MAX_LINE = 300

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []

    def __str__(self) -> str:
        head = super().__str__()
        if not self.problems:
            return head
        shown = [p if len(p) <= self.MAX_LINE else p[:self.MAX_LINE] + "…" for p in self.problems[:self.MAX_SHOWN]]
        if len(self.problems) > self.MAX_SHOWN:
            shown.append(f"and {len(self.problems) - self.MAX_SHOWN} more")
        return head + "\n" + "\n".join(f"  {p}" for p in shown)


class PromptError(ConfigError):
    """A component's prompt file or one of its template variables is missing."""


class MissingCredentials(ConfigError):
    """A hosted model's key variable is not set: checked before the first call, so nothing is
    retried or spent (exit 2). The message names the variable, never a value."""


class DatasetError(ArchonError):
    """A dataset could not be loaded; bad rows name their line (exit 2)."""

    exit_code = 2


class MissingDependencyError(ArchonError):
    """An optional dependency is not installed; the message says how to install it (exit 2)."""

    exit_code = 2


class RunStateError(ArchonError):
    """A run directory cannot be used as asked: not a run dir, no complete trial yet, no such
    trial, an empty split (exit 1: the input is well-formed, the run's state does not allow it)."""


class LLMCallError(ArchonError):
    """An LLM call failed after all retries."""


class EvaluationFailed(ArchonError):
    """Every example of an evaluation failed, so there is no accuracy to report; the message
    gives the most common cause (exit 1)."""


class EngineError(ArchonError):
    """An inference engine could not be started or died."""


class SearchFailed(ArchonError):
    """Every trial a search ran failed; the message gives the shared cause."""


class SandboxUnavailable(ArchonError):
    """bubblewrap is missing or cannot create namespaces here, and a confined run was required."""


class StorageError(ArchonError):
    """A file could not be written or read: disk full, I/O error, no permission, read-only file
    system. The message names the path (exit 1; what was written before stays intact)."""


class Interrupted(ArchonError):
    """Ctrl-C; the message says how to go on (exit 130)."""

    exit_code = 130
