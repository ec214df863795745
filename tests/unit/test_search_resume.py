"""A search killed mid-run (SIGKILL) or interrupted (Ctrl-C) resumes without losing or repeating
completed trials. The search runs in a subprocess against the scripted fake LLM, slowed down so
the kill lands mid-trial."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from archon_cli.cli.app import main
from archon_cli.runs import RunDir
from tests.fakes import FakeLLM
from tests.search_helpers import search_config

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import os, signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)  # a background job inherits SIGINT ignored
import tests.fakes as f
def slow(messages, sampling):
    time.sleep(float(os.environ["FAKE_SLEEP_S"]))
    return f.echo_last_user(messages, sampling)
f.FakeLLM.reset(slow)
from archon_cli.cli.app import main
sys.exit(main(sys.argv[1:]))
"""


def start(args: list[str], sleep_s: float = 0.15) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), FAKE_SLEEP_S=str(sleep_s))
    return subprocess.Popen([sys.executable, "-c", CHILD, *args], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_for_trials(runs: Path, n: int, proc: subprocess.Popen[bytes], timeout: float = 120) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        for run in runs.glob("*"):
            csv_path = run / "trials.csv"
            if csv_path.is_file():
                rows = list(csv.DictReader(csv_path.open()))
                done = [r for r in rows if r["state"] == "COMPLETE" and r["outcome"] == "complete"]
                if len(done) >= n and (run / "trials" / f"{len(rows):04d}").exists():
                    return run
        time.sleep(0.1)
    raise AssertionError("search did not get going")


def slow_search_config(tmp_path: Path, **kw: Any) -> Path:
    """No cache: a trial whose calls were all cached would end at once, and a search of such
    trials could finish between two looks for a trial in flight (seen in CI, in both tests)."""
    return search_config(tmp_path, execution={"cache": "off"}, **kw)


def completed(run: RunDir) -> dict[int, str]:
    rows = list(csv.DictReader(run.trials_csv.open()))
    return {int(r["number"]): r["accuracy"] for r in rows if r["outcome"] == "complete"}


def test_sigkill_then_resume_loses_and_repeats_nothing(tmp_path: Path, fake_llm: type[FakeLLM]) -> None:
    cfg = slow_search_config(tmp_path, trials=6, search_size=6)
    proc = start(["search", str(cfg)])
    run = RunDir(wait_for_trials(tmp_path / "runs", 2, proc))
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    before = completed(run)
    assert len(before) >= 2

    assert main(["search", "--resume", str(run.path)]) == 0
    after = completed(run)
    assert all(after[n] == acc for n, acc in before.items())  # nothing lost or rewritten
    rows = list(csv.DictReader(run.trials_csv.open()))
    counted = [r for r in rows if r["outcome"] not in ("duplicate",) and r["reason"] != "interrupted"]
    assert len(counted) == 6
    numbers = [int(r["number"]) for r in rows]
    assert len(numbers) == len(set(numbers))
    interrupted = [r for r in rows if r["reason"] == "interrupted"]
    assert all(r["state"] == "FAIL" for r in interrupted)
    keys = [tuple(v for k, v in r.items() if k.startswith("params_")) for r in counted if r["outcome"] == "complete"]
    assert len(keys) == len(set(keys))  # no architecture evaluated twice
    for r in counted:
        if r["outcome"] == "complete":
            json.loads((run.trial_dir(int(r["number"])) / "metrics.json").read_text())
    assert "resumed" in run.log_txt.read_text()


def test_ctrl_c_exits_130_and_the_run_resumes(tmp_path: Path, fake_llm: type[FakeLLM]) -> None:
    cfg = slow_search_config(tmp_path, trials=5, search_size=6)
    proc = start(["search", str(cfg)])
    run = RunDir(wait_for_trials(tmp_path / "runs", 1, proc))
    proc.send_signal(signal.SIGINT)
    assert proc.wait(60) == 130
    assert main(["search", "--resume", str(run.path)]) == 0
    rows = list(csv.DictReader(run.trials_csv.open()))
    assert len([r for r in rows if r["outcome"] != "duplicate" and r["reason"] != "interrupted"]) == 5
