"""User datasets: a JSONL or CSV file, one example per row.

Fields: `input` (required), `reference`, `system`, `tests`, `entry_point`, `choices` (a JSON list,
or a `|`-separated string in CSV), `id` (default: the line number). A mapping renames the file's
columns: {"input": "question", "reference": "answer"} reads `question` as the input. Other
columns are kept in `meta`. A bad row is a DatasetError naming the file and line: invalid JSON,
bytes that are not UTF-8, a CSV error (an unterminated quote, an oversized field). Files are
read lazily: with a limit, reading stops after that many examples; without one, a file over
MAX_FILE_BYTES is refused (ask for fewer with --limit).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from archon_cli.errors import DatasetError
from archon_cli.tasks.base import Example

FIELDS = ("id", "input", "reference", "system", "tests", "entry_point", "choices")
SUFFIXES = (".jsonl", ".csv")
MAX_FILE_BYTES = 512 * 2**20  # whole-file loads above this are refused: examples live in memory


def parse_field_mapping(items: list[str]) -> dict[str, str]:
    """`["input=question", "reference=answer"]` → {"input": "question", "reference": "answer"}."""
    mapping: dict[str, str] = {}
    for item in items:
        field, sep, column = item.partition("=")
        field, column = field.strip(), column.strip()
        if not sep or not column:
            raise DatasetError(f"--field {item!r}: expected FIELD=COLUMN, e.g. input=question")
        if field not in FIELDS:
            raise DatasetError(f"--field {item!r}: unknown field {field!r} (fields: {', '.join(FIELDS)})")
        mapping[field] = column
    return mapping


def load_file(path: Path, mapping: Mapping[str, str] | None = None, limit: int | None = None) -> list[Example]:
    """The file's examples, the first `limit` of them when given (the rest is not read)."""
    if not path.is_file():
        raise DatasetError(f"{path}: no such dataset file")
    if path.suffix.lower() not in SUFFIXES:
        raise DatasetError(f"{path}: unsupported dataset file type (use .jsonl or .csv)")
    size = path.stat().st_size
    if limit is None and size > MAX_FILE_BYTES:
        raise DatasetError(f"{path}: {size / 2**20:.0f} MiB is more than the {MAX_FILE_BYTES // 2**20} MiB a "
                           "dataset file may have; evaluate part of it with --limit N")
    rows = jsonl_objects(path) if path.suffix.lower() == ".jsonl" else _csv_rows(path)
    examples: list[Example] = []
    seen: set[str] = set()
    for line, row in rows:
        if limit is not None and len(examples) >= limit:
            break
        ex = _example(path, line, row, mapping or {})
        if ex.id in seen:
            raise DatasetError(f"{path}:{line}: duplicate id {ex.id!r}")
        seen.add(ex.id)
        examples.append(ex)
    if not examples:
        raise DatasetError(f"{path}: no examples")
    return examples


def text_lines(path: Path) -> Iterator[str]:
    """The file's lines, decoded one at a time (line endings kept, as csv wants them; a leading
    BOM dropped); bytes that are not UTF-8 are a DatasetError naming the line and column."""
    try:
        with open(path, "rb") as f:
            for line, raw in enumerate(f, 1):
                try:
                    yield raw.decode("utf-8-sig" if line == 1 else "utf-8")
                except UnicodeDecodeError as exc:
                    raise DatasetError(f"{path}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at column "
                                       f"{exc.start + 1}); save the file as UTF-8") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read: {exc.strerror or exc}") from None


def jsonl_objects(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; a bad line is a DatasetError naming it."""
    for line, text in enumerate(text_lines(path), 1):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{line}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        except RecursionError:
            raise DatasetError(f"{path}:{line}: JSON nested too deeply") from None
        if not isinstance(row, dict):
            raise DatasetError(f"{path}:{line}: expected a JSON object, got {type(row).__name__}")
        yield line, row


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    # strict: an unterminated quote is an error at the end of the file, not one giant last field
    reader = csv.DictReader(text_lines(path), strict=True)
    try:
        if not reader.fieldnames:
            raise DatasetError(f"{path}: empty CSV (no header row)")
        for row in reader:
            if None in row:
                raise DatasetError(f"{path}:{reader.line_num}: more values than header columns")
            yield reader.line_num, dict(row)
    except csv.Error as exc:
        raise DatasetError(f"{path}:{reader.line_num}: not valid CSV ({exc}; an unterminated quote "
                           "runs to the end of the file)") from None


def _example(path: Path, line: int, row: dict[str, Any], mapping: Mapping[str, str]) -> Example:
    where = f"{path}:{line}"
    for field, column in mapping.items():
        if column not in row:
            raise DatasetError(f"{where}: column {column!r} (mapped to {field}) is missing")
    used = {mapping.get(f, f) for f in FIELDS}
    values = {f: row.get(mapping.get(f, f)) for f in FIELDS}
    text = values["input"]
    if not isinstance(text, str) or not text.strip():
        name = mapping.get("input", "input")
        raise DatasetError(f"{where}: {name!r} must be a non-empty string (map another column: --field input=COLUMN)")
    strings: dict[str, str | None] = {}
    for f in ("reference", "system", "tests", "entry_point"):
        v = values[f]
        if v is None or v == "":
            strings[f] = None
        elif isinstance(v, (int, float)) and not isinstance(v, bool) and f == "reference":
            strings[f] = str(v)
        elif isinstance(v, str):
            strings[f] = v
        else:
            raise DatasetError(f"{where}: {mapping.get(f, f)!r} must be a string, got {type(v).__name__}")
    return Example(id=str(values["id"]) if values["id"] not in (None, "") else f"{path.stem}-{line}", input=text,
                   choices=_choices(where, values["choices"]), meta={k: v for k, v in row.items() if k not in used},
                   **strings)


def _choices(where: str, value: Any) -> tuple[str, ...] | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        value = value.split("|")
    if not isinstance(value, list) or not all(isinstance(c, (str, int, float)) for c in value):
        raise DatasetError(f"{where}: choices must be a list of strings (CSV: 'a|b|c')")
    return tuple(str(c).strip() for c in value)
