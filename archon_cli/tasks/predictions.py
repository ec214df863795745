"""Read a predictions file (`archon eval -o` writes one): one JSON object per line with `id` and
`output` (null = no answer). Bad lines are a DatasetError naming the line."""

from __future__ import annotations

from pathlib import Path

from archon_cli.errors import DatasetError
from archon_cli.tasks.files import jsonl_objects


def read_predictions(path: Path, known_ids: set[str]) -> dict[str, str | None]:
    if not path.is_file():
        raise DatasetError(f"{path}: no such predictions file")
    predictions: dict[str, str | None] = {}
    for line, row in jsonl_objects(path):
        if "id" not in row or "output" not in row:
            raise DatasetError(f"{path}:{line}: expected an object with 'id' and 'output'")
        pid, output = str(row["id"]), row["output"]
        if output is not None and not isinstance(output, str):
            raise DatasetError(f"{path}:{line}: 'output' must be a string or null")
        if pid not in known_ids:
            raise DatasetError(f"{path}:{line}: id {pid!r} is not in the dataset")
        if pid in predictions:
            raise DatasetError(f"{path}:{line}: duplicate id {pid!r}")
        predictions[pid] = output
    if not predictions:
        raise DatasetError(f"{path}: no predictions")
    return predictions
