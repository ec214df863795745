"""Unit-test generator (writes tests for the task) and evaluator (ranks candidates by the
tests they pass: executed in the sandbox for code tasks, judged by a model otherwise).

The evaluator stays pure: it yields SandboxRuns, and the executor runs them in the sandbox (beside
the LLM calls of other examples, as Ray tasks when the search runs on Ray).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from pydantic import Field

from archon_cli.components import COMPONENTS, structured
from archon_cli.components.base import LLMComponent, Steps
from archon_cli.components.parsing import parse_pass_fail, parse_tests
from archon_cli.components.state import Item, Notes, SandboxRun
from archon_cli.components.structured import Structured
from archon_cli.config.bounds import MAX_TOKENS, Int
from archon_cli.config.pipeline import ModelComponentParams
from archon_cli.sandbox.programs import build_program, extract_code


class UnitTestGeneratorParams(ModelComponentParams):
    max_tests: Int = Field(5, ge=1, le=50)
    max_tokens: Int = Field(192, ge=1, le=MAX_TOKENS)


@COMPONENTS.register("unit_test_generator")
class UnitTestGenerator(LLMComponent):
    """Candidates pass through unchanged. Fallback: unparseable output becomes one test."""

    Params = UnitTestGeneratorParams
    params: UnitTestGeneratorParams

    def calls(self, n_in: int) -> int:
        return 1

    def n_out(self, n_in: int) -> int:
        return n_in

    def run(self, item: Item, notes: Notes) -> Steps:
        # Code tasks get assert statements, which the evaluator can execute.
        key = "user_code" if item.entry_point else "user"
        user = self.prompts.render(key, query=item.query, max_tests=self.params.max_tests,
                                   entry_point=item.entry_point)
        (text,) = yield [self.request(user)]
        tests = parse_tests(text, self.params.max_tests)
        if tests is None:
            notes.fallback("unparsed_tests")
            tests = [text.strip() or "The answer is correct."]
        notes.detail("tests", tests)
        return replace(item, unit_tests=tuple(tests))


class UnitTestEvaluatorParams(ModelComponentParams):
    max_tokens: Int = Field(64, ge=1, le=MAX_TOKENS)
    # auto: execute the tests for code tasks (the example has an entry point), judge otherwise.
    mode: Literal["auto", "execute", "judge"] = "auto"
    # Judging: `{"results": ["PASS", ...]}`, one per test, where the engine can enforce it.
    structured: Structured = "auto"


@COMPONENTS.register("unit_test_evaluator")
class UnitTestEvaluator(LLMComponent):
    """Candidates are stably sorted by tests passed. Code tasks (mode auto/execute, the item has
    an entry point): each candidate's code runs against the generated `assert` tests in the
    sandbox, zero LLM calls. Otherwise one judging call per candidate.
    Fallbacks: an unreadable judgment counts as zero tests passed; a code task without any
    `assert` test keeps the candidates' order (`no_executable_tests`), and so does a non-code
    item in execute mode (`not_code`)."""

    Params = UnitTestEvaluatorParams
    params: UnitTestEvaluatorParams

    def calls(self, n_in: int) -> int:
        # auto cannot see whether examples are code tasks: n_in is then an upper bound (0 for code).
        return 0 if self.params.mode == "execute" else n_in

    @property
    def exact_calls(self) -> bool:
        return self.params.mode != "auto"

    def _execute(self, item: Item, notes: Notes) -> Steps:
        tests = tuple(t for t in item.unit_tests if t.lstrip().startswith("assert"))
        if not tests:
            notes.fallback("no_executable_tests")
            return item
        ep = item.entry_point
        prompt = extract_code(item.query, ep) if "```" in item.query else None
        runs = [SandboxRun(build_program(extract_code(c.text, ep), ep, prompt), tests) for c in item.candidates]
        passed = yield runs
        scored = [replace(c, tests_passed=int(n), tests_total=len(tests))
                  for c, n in zip(item.candidates, passed, strict=True)]
        scored.sort(key=lambda c: -(c.tests_passed or 0))
        return replace(item, candidates=tuple(scored))

    def n_out(self, n_in: int) -> int:
        return n_in

    def run(self, item: Item, notes: Notes) -> Steps:
        cands, tests = item.candidates, item.unit_tests
        if not cands:
            return item
        if item.entry_point and self.params.mode != "judge":
            return (yield from self._execute(item, notes))
        if self.params.mode == "execute":  # promised zero calls: nothing to run, keep the order
            notes.fallback("not_code")
            return item
        listed = "\n".join(f"{i}. {t}" for i, t in enumerate(tests, 1))
        prompts = [self.prompts.render("user", query=item.query, candidate=c.text.strip(), tests=listed) for c in cands]
        schema = structured.pass_fail(len(tests))
        budget = structured.reply_tokens(len(tests))
        texts = yield [self.request(u, schema=schema, structured=self.params.structured, schema_max_tokens=budget)
                       for u in prompts]
        scored = []
        for cand, text in zip(cands, texts, strict=True):
            passed = parse_pass_fail(text, len(tests))
            if passed is None:
                notes.fallback("unparsed_judgment")
                passed = 0
            scored.append(replace(cand, tests_passed=passed, tests_total=len(tests)))
        scored.sort(key=lambda c: -(c.tests_passed or 0))
        return replace(item, candidates=tuple(scored))
