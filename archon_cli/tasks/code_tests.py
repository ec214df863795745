"""`code_tests` scorer: run the example's hidden tests against the code in the output, in the sandbox."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from archon_cli.tasks import SCORERS, sandbox
from archon_cli.tasks.base import Example, ScoreError, Scorer
from archon_cli.tasks.code import build_program, extract_code


def program_for(example: Example, output: str) -> str:
    code = extract_code(output, example.entry_point)
    return build_program(code, example.entry_point, example.meta.get("prompt"))


@SCORERS.register("code_tests")
class CodeTestsScorer(Scorer):
    """1 if the hidden tests pass (HumanEval: `check(entry_point)`), else 0. A run that hits a
    limit (timeout, memory) is a failed solution, a 0, not an unscorable output."""

    name = "code_tests"
    description = "executes the example's tests against the output's code in the sandbox"

    def score(self, example: Example, output: str) -> float:
        if not example.tests:
            raise ScoreError(f"example {example.id} has no tests")
        # Looked up at call time so tests can substitute the executor.
        result = sandbox.execute_tests(program_for(example, output), example.tests, example.entry_point)
        return float(result.passed)

    def score_many(self, pairs: list[tuple[Example, str]]) -> list[float | ScoreError]:
        # Each run is its own process; threads only wait on them.
        with ThreadPoolExecutor(max_workers=max(1, self.options.workers)) as pool:
            return list(pool.map(lambda p: super(CodeTestsScorer, self).score_many([p])[0], pairs))
