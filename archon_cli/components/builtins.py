"""Importing this module registers every built-in component."""

from archon_cli.components import (  # noqa: F401
    adaptive_vote,
    critic,
    fuser,
    generator,
    majority_vote,
    ranker,
    refiner,
    shortest,
    unit_tests,
    verifier,
    weighted_vote,
)
