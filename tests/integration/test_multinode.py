"""scripts/multinode_search.sh: a real two-node Ray cluster on one machine (two network namespaces
joined by a veth pair), and a search whose trials must run on both nodes."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "multinode_search.sh"
HEAD_IP, WORKER_IP = "10.231.7.1", "10.231.7.2"
NAMESPACES = ("archon-head", "archon-worker")


def can_create_namespaces() -> str | None:
    """None if this environment can create network namespaces, else why not."""
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    if shutil.which("ip") is None:
        return "`ip` (iproute2) is not installed"
    probe = f"archon-probe-{uuid.uuid4().hex[:6]}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"`ip netns add` is not permitted here: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def namespaces() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


@pytest.mark.timeout(600)
def test_trials_run_on_both_nodes(tmp_path: Path) -> None:
    reason = can_create_namespaces()
    if reason:
        pytest.skip(reason)
    out_dir = tmp_path / "run"
    proc = subprocess.Popen(["bash", str(SCRIPT)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, "VENV": sys.prefix, "OUT_DIR": str(out_dir)})
    try:
        output, _ = proc.communicate(timeout=540)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # the script's trap stops Ray and deletes the namespaces
        output, _ = proc.communicate(timeout=60)
        pytest.fail("the multinode search took too long:\n" + output[-4000:])
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, output[-6000:]
    assert "OK: trials ran on both nodes" in output

    rows = [r for r in csv.DictReader((out_dir / "trials.csv").open()) if r["outcome"] != "duplicate"]
    assert len(rows) == 6
    assert {r["outcome"] for r in rows} == {"complete"}
    assert {r["node"].split("/")[0] for r in rows} == {HEAD_IP, WORKER_IP}
    env = json.loads((out_dir / "env.json").read_text())
    assert {n["ip"] for n in env["ray"]["nodes"]} == {HEAD_IP, WORKER_IP}
    assert len(env["engines"]) == 2
    for engine in env["engines"]:  # multi-node: engines listen on their node's address, not loopback
        assert engine["url"].split("//")[1].split(":")[0] in {HEAD_IP, WORKER_IP}
    assert not namespaces() & set(NAMESPACES), "the script deletes its namespaces"
