"""Resolve `--dataset NAME` and `--scorer` to examples and a scorer instance."""

from __future__ import annotations

from archon_cli.tasks import DATASETS, SCORERS
from archon_cli.tasks.base import Example, Scorer


def load_task(dataset: str, scorer: str | None, *, limit: int | None = None,
              seed: int = 0) -> tuple[list[Example], Scorer]:
    ds = DATASETS.get(dataset)()
    examples = ds.load(limit=limit, seed=seed)
    if limit is not None:
        examples = examples[:limit]
    return examples, SCORERS.get(scorer or ds.default_scorer)()
