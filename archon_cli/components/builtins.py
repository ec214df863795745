"""Importing this module registers every built-in component."""

from archon_cli.components import (  # noqa: F401
    critic,
    fuser,
    generator,
    majority_vote,
    ranker,
    unit_tests,
    verifier,
)
