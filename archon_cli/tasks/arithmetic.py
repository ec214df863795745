"""`arithmetic`: seeded arithmetic questions from reasoning-gym's basic_arithmetic generator."""

from __future__ import annotations

from archon_cli.tasks import DATASETS
from archon_cli.tasks.base import Dataset, Example

# Two terms of one or two digits, + and -: hard enough that techniques change the score of
# a 135M model, easy enough that it is not always wrong.
_CONFIG = {"min_terms": 2, "max_terms": 2, "min_digits": 1, "max_digits": 2, "operators": ("+", "-"),
           "allow_negation": False, "allow_parentheses": False}
_DEFAULT_SIZE = 500


@DATASETS.register("arithmetic")
class Arithmetic(Dataset):
    name = "arithmetic"
    description = "two-term + and − questions on 1–2 digit numbers (reasoning-gym basic_arithmetic), numeric answers"
    default_scorer = "numeric"
    license = "Apache-2.0 (reasoning-gym)"

    def default_size(self) -> int | None:
        return _DEFAULT_SIZE

    def load(self, limit: int | None = None, seed: int = 0) -> list[Example]:
        import reasoning_gym

        size = limit or _DEFAULT_SIZE
        data = reasoning_gym.create_dataset("basic_arithmetic", size=size, seed=seed, **_CONFIG)
        return [
            Example(id=f"arithmetic-{seed}-{i}", input=f"What is {row['metadata']['expression']}?",
                    reference=str(row["answer"]))
            for i, row in enumerate(data)
        ]
