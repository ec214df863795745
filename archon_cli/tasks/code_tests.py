"""`code_tests` scorer: run the example's hidden tests against the code in the output, in the sandbox."""

from __future__ import annotations

from archon_cli.sandbox import runner as sandbox
from archon_cli.sandbox.pool import SandboxPool
from archon_cli.sandbox.programs import build_program, extract_code
from archon_cli.tasks import SCORERS
from archon_cli.tasks.base import Example, ScoreError, Scorer


def program_for(example: Example, output: str) -> str:
    code = extract_code(output, example.entry_point)
    return build_program(code, example.entry_point, example.meta.get("prompt"))


def score_code(example: Example, output: str) -> float:
    """1.0 if the example's hidden tests pass against the output's code. A run that hits a limit
    (timeout, memory) is a failed solution, a 0, not an unscorable output."""
    if not example.tests:
        raise ScoreError(f"example {example.id} has no tests")
    # Looked up at call time so tests can substitute the executor.
    return float(sandbox.execute_tests(program_for(example, output), example.tests, example.entry_point).passed)


def _score_or_error(example: Example, output: str) -> float | ScoreError:
    try:
        return score_code(example, output)
    except ScoreError as exc:
        return exc


@SCORERS.register("code_tests")
class CodeTestsScorer(Scorer):
    """1 if the hidden tests pass (HumanEval: `check(entry_point)`), else 0."""

    name = "code_tests"
    description = "executes the example's tests against the output's code in the sandbox"

    def score(self, example: Example, output: str) -> float:
        return score_code(example, output)

    def score_many(self, pairs: list[tuple[Example, str]]) -> list[float | ScoreError]:
        # `workers` runs at once, here or as Ray tasks (sandbox_pool).
        with SandboxPool(self.options.workers) as pool:
            return pool.map(_score_or_error, [ex for ex, _ in pairs], [out for _, out in pairs])
