"""`gsm`: seeded grade-school word problems from reasoning-gym's gsm_symbolic generator."""

from __future__ import annotations

from archon_cli.tasks import DATASETS
from archon_cli.tasks.base import Dataset, Example

_DEFAULT_SIZE = 500  # enough for a ±4-point CI; generated, so any size works


@DATASETS.register("gsm")
class GSM(Dataset):
    name = "gsm"
    description = "GSM8K-style word problems (reasoning-gym gsm_symbolic, seeded), numeric answers"
    default_scorer = "numeric"
    license = "Apache-2.0 (reasoning-gym)"

    def default_size(self) -> int | None:
        return _DEFAULT_SIZE

    def load(self, limit: int | None = None, seed: int = 0) -> list[Example]:
        import reasoning_gym

        data = reasoning_gym.create_dataset("gsm_symbolic", size=limit or _DEFAULT_SIZE, seed=seed)
        return [Example(id=f"gsm-{seed}-{i}", input=row["question"], reference=str(row["answer"]))
                for i, row in enumerate(data)]
