"""Importing this module registers every built-in dataset and scorer."""

from archon_cli.tasks import arithmetic, scorers  # noqa: F401
