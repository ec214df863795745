"""Seeded random search/test split (never "the first N%")."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

from archon_cli.config.search import TaskConfig
from archon_cli.errors import ConfigError

T = TypeVar("T")


def split_sizes(n: int, task: TaskConfig) -> tuple[int, int]:
    """(search, test) sizes for `n` loaded examples; both at least 1, together at most n."""
    n_search = task.search_size if task.search_size is not None else max(1, round(n * task.search_fraction))
    if n_search >= n:
        raise ConfigError(f"task.search_size: {n_search} search examples of the {n} loaded hold nothing out "
                          "(lower it or raise task.size)")
    n_test = task.test_size if task.test_size is not None else n - n_search
    if n_search + n_test > n:
        raise ConfigError(f"task: search_size + test_size = {n_search + n_test} > {n} examples loaded "
                          "(raise task.size)")
    return n_search, n_test


def split(examples: Sequence[T], task: TaskConfig) -> tuple[list[T], list[T]]:
    """(search, test): disjoint, drawn from one seeded shuffle; the search split keeps that order,
    so its prefixes (the fidelity rungs) are random subsets too."""
    order = list(examples)
    random.Random(task.split_seed).shuffle(order)
    n_search, n_test = split_sizes(len(order), task)
    return order[:n_search], order[n_search:n_search + n_test]
