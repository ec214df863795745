"""`archon search --workers 2` on local Ray with two supervised embedded-engine replicas."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.processes import pids_with_command

ROOT = Path(__file__).resolve().parents[2]

CONFIG = {
    "name": "ray",
    "task": {"dataset": "arithmetic", "size": 12, "search_size": 4, "split_seed": 1},
    "models": {"m": {"model": "local/smollm2-135m", "replicas": 2, "cpus_per_replica": 1}},
    "space": {"name": "tiny", "defaults": {"max_tokens": 16}, "layers": [
        {"name": "L0", "component": {"type": "generator", "params": {"samples": {"choices": [1, 2, 3]},
                                                                       "temperature": 0.7}}},
        {"name": "L1", "choice": {"none": [], "vote": [{"component": {"type": "majority_vote"}}],
                                  "fuse": [{"component": {"type": "fuser"}}]}},
    ]},
    "search": {"trials": 6, "sampler": "tpe"},
}


def engine_pids() -> set[int]:
    return pids_with_command("archon_cli.llm.engines.llamacpp_server")


@pytest.mark.timeout(600)
def test_two_workers_two_replicas_survive_a_killed_replica(tmp_path: Path) -> None:
    cfg = tmp_path / "search.yaml"
    cfg.write_text(yaml.safe_dump(CONFIG | {"runs_dir": str(tmp_path / "runs")}))
    before = engine_pids()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "archon"), "search", str(cfg), "--workers", "2"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "ARCHON_CACHE_DIR": str(tmp_path / "cache")})
    try:
        deadline = time.monotonic() + 300
        while len(engine_pids() - before) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        replicas = sorted(engine_pids() - before)
        if len(replicas) < 2:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"two engine replicas should be running (exit {proc.returncode}):\n{out[-2000:]}\n"
                        f"{err[-4000:]}")
        runs = tmp_path / "runs"
        while proc.poll() is None and time.monotonic() < deadline:
            logs = list(runs.glob("*/log.txt"))
            if logs and "trial 0:" in logs[0].read_text():
                break
            time.sleep(0.5)
        os.kill(replicas[0], signal.SIGKILL)  # mid-search: later trials still need engines
        _, err = proc.communicate(timeout=420)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-3000:]

    (run,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    rows = list(csv.DictReader((run / "trials.csv").open()))
    counted = [r for r in rows if r["outcome"] != "duplicate"]
    assert len(counted) == 6
    assert {r["outcome"] for r in counted} == {"complete"}  # the dead replica cost no trial
    numbers = [int(r["number"]) for r in rows]
    assert len(numbers) == len(set(numbers))
    for r in counted:
        assert json.loads((run / "trials" / f"{int(r['number']):04d}" / "metrics.json").read_text())["n_examples"] == 4
        assert r["node"]  # ran as a Ray task
    env = json.loads((run / "env.json").read_text())
    assert env["ray"]["nodes"]
    assert len(env["engines"]) == 2
    assert sum(e["restarts"] for e in env["engines"]) >= 1
    assert replicas[0] not in {e["pid"] for e in env["engines"]}
    assert not (engine_pids() - before), "engines stop with the search"
