"""Per-execution overhead of the sandbox (bubblewrap + prlimit [+ setpriv as root]) over a bare
subprocess running the same snippets with the same interpreter. Prints JSON.

    python benchmarks/sandbox_overhead.py [--repeats 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from archon_cli.sandbox import runner as sandbox

SNIPPETS = {
    "print": "print('hello')",
    "humaneval_like": ("def add(a, b):\n    return a + b\n\n"
                       "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-1, 1) == 0\n\n"
                       "check(add)\n"),
    "import_stdlib": "import json, re, math, collections, itertools\nprint(json.dumps({'x': math.pi}))",
}


def bare(code: str, python: str) -> float:
    with tempfile.TemporaryDirectory() as d:
        script = Path(d) / "main.py"
        script.write_text(code)
        start = time.perf_counter()
        subprocess.run([python, "-I", "-B", str(script)], capture_output=True, check=True, cwd=d)
        return time.perf_counter() - start


def sandboxed(code: str) -> float:
    start = time.perf_counter()
    result = sandbox.run_python(code)
    elapsed = time.perf_counter() - start
    if not result.passed:
        raise SystemExit(f"sandboxed run failed: {result.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    # Same interpreter both ways (as root the sandbox runs the system python as `nobody`).
    python = sandbox._interpreter() if os.geteuid() == 0 else sys.executable
    sandboxed(SNIPPETS["print"])  # warm-up: bwrap probe, page cache
    bare(SNIPPETS["print"], python)
    rows = {}
    for name, code in SNIPPETS.items():
        b = [bare(code, python) for _ in range(args.repeats)]
        s = [sandboxed(code) for _ in range(args.repeats)]
        rows[name] = {"bare_ms_median": round(statistics.median(b) * 1e3, 1),
                      "sandbox_ms_median": round(statistics.median(s) * 1e3, 1),
                      "overhead_ms_median": round((statistics.median(s) - statistics.median(b)) * 1e3, 1)}
    overheads = [r["overhead_ms_median"] for r in rows.values()]
    print(json.dumps({
        "sandboxed": sandbox._bwrap_works() is not None, "as_root": os.geteuid() == 0, "python": python,
        "repeats": args.repeats, "cpus": os.cpu_count(), "snippets": rows,
        "max_overhead_ms": max(overheads), "target_ms": 50, "within_target": max(overheads) < 50,
    }, indent=2))


if __name__ == "__main__":
    main()
