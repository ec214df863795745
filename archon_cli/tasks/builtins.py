"""Importing this module registers every built-in dataset and scorer."""

from archon_cli.tasks import arithmetic, code_tests, gsm, humaneval, judge, mtbench, scorers  # noqa: F401
