"""On Ray, sandboxed runs are Ray tasks: they run in Ray worker processes and score the same."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

# Its own process: Ray and the pools' run-on-Ray switch stay out of the test process.
SCRIPT = '''
import os, sys
from archon_cli.cluster.runtime import init_ray, shutdown_ray
from archon_cli.sandbox import pool as sandbox_pool
from archon_cli.sandbox import runner as sandbox
from archon_cli.tasks.code_tests import CodeTestsScorer
from archon_cli.tasks.humaneval import HumanEval


def where(code):
    return os.getpid(), sandbox.run_python(code).passed


with sandbox_pool.SandboxPool(2) as pool:
    local = pool.map(where, ["pass"])
init_ray(num_cpus=2)
try:
    sandbox_pool.run_on_ray()
    with sandbox_pool.SandboxPool(2) as pool:
        remote = pool.map(where, ["pass", "raise SystemExit(3)", "pass"])
    examples = HumanEval().load(limit=4)
    outputs = [ex.meta["prompt"] + ex.meta["canonical_solution"] for ex in examples[:2]] + ["def nothing(): pass"] * 2
    scores = CodeTestsScorer().score_many(list(zip(examples, outputs)))
finally:
    shutdown_ray()
me = os.getpid()
print("local", [(pid == me, ok) for pid, ok in local])
print("remote", [(pid == me, ok) for pid, ok in remote])
print("scores", scores)
'''


def test_sandbox_runs_are_ray_tasks_and_score_the_same() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert "local [(True, True)]" in lines  # without Ray: in this process
    assert "remote [(False, True), (False, False), (False, True)]" in lines  # in Ray workers
    assert "scores [1.0, 1.0, 0.0, 0.0]" in lines
