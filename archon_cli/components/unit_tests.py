"""Unit-test generator (writes tests for the task) and evaluator (ranks candidates by the
tests they pass, as judged by a model)."""

from __future__ import annotations

from dataclasses import replace

from pydantic import Field

from archon_cli.components import COMPONENTS
from archon_cli.components.base import LLMComponent, Steps
from archon_cli.components.parsing import parse_pass_fail, parse_tests
from archon_cli.components.state import Item, Notes
from archon_cli.config.pipeline import ModelComponentParams


class UnitTestGeneratorParams(ModelComponentParams):
    max_tests: int = Field(5, ge=1, le=50)
    max_tokens: int = Field(192, ge=1)


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
        user = self.prompts.render("user", query=item.query, max_tests=self.params.max_tests)
        (text,) = yield [self.request(user)]
        tests = parse_tests(text, self.params.max_tests)
        if tests is None:
            notes.fallback("unparsed_tests")
            tests = [text.strip() or "The answer is correct."]
        return replace(item, unit_tests=tuple(tests))


class UnitTestEvaluatorParams(ModelComponentParams):
    max_tokens: int = Field(64, ge=1)


@COMPONENTS.register("unit_test_evaluator")
class UnitTestEvaluator(LLMComponent):
    """One judging call per candidate; candidates are stably sorted by tests passed.
    Fallback: an unreadable judgment counts as zero tests passed."""

    Params = UnitTestEvaluatorParams
    params: UnitTestEvaluatorParams

    def calls(self, n_in: int) -> int:
        return n_in

    def n_out(self, n_in: int) -> int:
        return n_in

    def run(self, item: Item, notes: Notes) -> Steps:
        cands, tests = item.candidates, item.unit_tests
        if not cands:
            return item
        listed = "\n".join(f"{i}. {t}" for i, t in enumerate(tests, 1))
        prompts = [self.prompts.render("user", query=item.query, candidate=c.text.strip(), tests=listed) for c in cands]
        texts = yield [self.request(u) for u in prompts]
        scored = []
        for cand, text in zip(cands, texts, strict=True):
            passed = parse_pass_fail(text, len(tests))
            if passed is None:
                notes.fallback("unparsed_judgment")
                passed = 0
            scored.append(replace(cand, tests_passed=passed, tests_total=len(tests)))
        scored.sort(key=lambda c: -(c.tests_passed or 0))
        return replace(item, candidates=tuple(scored))
