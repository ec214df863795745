"""Resolve `--dataset NAME_OR_FILE` and `--scorer` to examples and a scorer instance."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from archon_cli.errors import DatasetError
from archon_cli.tasks import DATASETS, SCORERS
from archon_cli.tasks.base import Example, Scorer, ScorerOptions
from archon_cli.tasks.files import SUFFIXES, load_file

FILE_DEFAULT_SCORER = "normalized"  # a user file with plain reference answers (rows with choices: choice)


def is_file_dataset(dataset: str) -> bool:
    return dataset.lower().endswith(SUFFIXES) or "/" in dataset or Path(dataset).is_file()


def load_examples(dataset: str, *, limit: int | None = None, seed: int = 0,
                  fields: Mapping[str, str] | None = None) -> tuple[list[Example], str]:
    """The examples and the dataset's default scorer name."""
    if is_file_dataset(dataset):
        examples = load_file(Path(dataset), fields, limit)
        default = ("code_tests" if any(ex.tests for ex in examples)
                   else "choice" if all(ex.choices for ex in examples) else FILE_DEFAULT_SCORER)
    else:
        if fields:
            raise DatasetError("--field applies to dataset files (.jsonl/.csv), not to built-in datasets")
        ds = DATASETS.get(dataset)()
        examples, default = ds.load(limit=limit, seed=seed), ds.default_scorer
    return (examples[:limit] if limit is not None else examples), default


def load_task(dataset: str, scorer: str | None, *, limit: int | None = None, seed: int = 0,
              fields: Mapping[str, str] | None = None,
              options: ScorerOptions | None = None) -> tuple[list[Example], Scorer]:
    examples, default = load_examples(dataset, limit=limit, seed=seed, fields=fields)
    return examples, SCORERS.get(scorer or default)(options)
