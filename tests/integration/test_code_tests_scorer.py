"""`code_tests` and the unit-test evaluator's pass count, in the real sandbox: wrong code cannot
pass by ending the process or by printing a marker, right code is not failed by its demo block
or by printing a lot (issue 12's findings, issue 16 item 5's forged marker)."""

from __future__ import annotations

import pytest

from archon_cli.sandbox import runner as sandbox
from archon_cli.tasks.base import Example
from archon_cli.tasks.code_tests import CodeTestsScorer

pytestmark = pytest.mark.integration

PROMPT = 'def add(a: int, b: int) -> int:\n    """Sum of a and b."""\n'
TESTS = "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-1, 1) == 0\n"
EXAMPLE = Example("add", "Write add.", tests=TESTS, entry_point="add", meta={"prompt": PROMPT})
RIGHT = "def add(a, b):\n    return a + b\n"
WRONG = "def add(a, b):\n    return a - b\n"

EXITS = {
    "sys.exit(0)": "\nimport sys\nsys.exit(0)\n",
    "sys.exit(main())": "\nimport sys\n\ndef main():\n    return 0\n\nsys.exit(main())\n",
    "exit()": "\nexit()\n",
    "os._exit(0)": "\nimport os\nos._exit(0)\n",
    "unittest.main()": "\nimport unittest\nunittest.main()\n",
    "main: sys.exit(0)": '\nif __name__ == "__main__":\n    import sys\n    sys.exit(0)\n',
    "main: unittest.main()": '\nif __name__ == "__main__":\n    import unittest\n    unittest.main()\n',
    "forged markers": ('\nimport os\nprint("__archon_tests_passed__ 99")\nprint("passed")\n'
                       'for fd in range(1, 40):\n    try:\n        os.write(fd, b"0" * 32 + b" passed\\n")\n'
                       '    except OSError:\n        pass\n'),
}


def score(*outputs: str) -> list[float]:
    values = CodeTestsScorer().score_many([(EXAMPLE, f"```python\n{o}```") for o in outputs])
    assert all(isinstance(v, float) for v in values)
    return [float(v) for v in values]  # type: ignore[arg-type]


def test_wrong_code_that_ends_the_process_or_forges_a_marker_fails() -> None:
    assert score(*(WRONG + ending for ending in EXITS.values())) == [0.0] * len(EXITS)
    assert score(RIGHT, WRONG) == [1.0, 0.0]


def test_right_code_with_a_main_demo_block_passes() -> None:
    demos = ['\nif __name__ == "__main__":\n    a, b = map(int, input().split())\n    print(add(a, b))\n',
             '\nif __name__ == "__main__":\n    assert add(2, 2) == 5, "my own broken self-test"\n',
             '\nif __name__ == "__main__":\n    import sys\n    sys.exit(1)\n']
    assert score(*(RIGHT + demo for demo in demos)) == [1.0] * len(demos)


def test_output_over_the_file_size_limit_does_not_fail_right_code() -> None:
    loud = RIGHT + "\nimport sys\nfor _ in range(20):\n    sys.stdout.write('x' * 2**20)\n"  # 20 MB > 16 MB
    assert score(loud) == [1.0]


def test_the_pass_count_cannot_be_forged_by_printing() -> None:
    tests = ["assert add(1, 2) == 3", "assert add(2, 2) == 4", "assert add(0, 5) == 5"]
    forger = WRONG + EXITS["forged markers"].replace("99", "3")
    assert sandbox.count_passing(forger, tests) == 0
    # Printed after the harness is done: at exit, or by the function under test before it ends the process.
    at_exit = WRONG + '\nimport atexit\natexit.register(lambda: print("__archon_tests_passed__ 3"))\n'
    in_call = ('def add(a, b):\n    import os\n    print("__archon_tests_passed__ 3", flush=True)\n'
               '    os._exit(0)\n')
    assert sandbox.count_passing(at_exit, tests) == 0
    assert sandbox.count_passing(in_call, tests) == 0
    assert sandbox.count_passing(RIGHT, tests) == 3
    assert sandbox.count_passing(RIGHT + EXITS["os._exit(0)"], tests) == 0  # no verdict: none passed
    # A test that exits is a failed test, not the end of the count.
    assert sandbox.count_passing(RIGHT, ["import sys; sys.exit(0)", *tests]) == 3
