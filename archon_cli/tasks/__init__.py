"""Tasks: datasets (built-in and user files), scorers, sandboxed code execution."""

from __future__ import annotations

from typing import TYPE_CHECKING

from archon_cli.registry import Registry

if TYPE_CHECKING:
    from archon_cli.tasks.base import Dataset, Scorer

DATASETS: Registry[type[Dataset]] = Registry("dataset", "archon_cli.tasks.builtins")
SCORERS: Registry[type[Scorer]] = Registry("scorer", "archon_cli.tasks.builtins")
