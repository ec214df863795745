"""`archon search` → show → replay → export → validate → run on the real embedded engine, tiny."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.search_helpers import only_run, search_config

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def archon(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "archon"
    return subprocess.run([str(exe), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


@pytest.mark.timeout(600)  # about 1 minute alone; other engines on the same 2 cores slow it down
def test_tiny_search_on_the_embedded_engine(tmp_path: Path) -> None:
    space = {"name": "tiny", "defaults": {"max_tokens": 16}, "layers": [
        {"name": "L0", "component": {"type": "generator", "params": {"samples": {"choices": [1, 2]},
                                                                       "temperature": 0.7}}},
        {"name": "L1", "choice": {"none": [], "vote": [{"component": {"type": "majority_vote"}}],
                                  "fuse": [{"component": {"type": "fuser"}}],
                                  "rank": [{"component": {"type": "ranker", "params": {"top_k": 1}}}]}},
    ]}
    cfg = search_config(tmp_path, model="local/smollm2-135m", trials=8, size=12, search_size=4, rungs=[2],
                        eta=2, space=space, objectives=["accuracy", "calls"])
    done = archon("search", str(cfg))
    assert done.returncode == 0, done.stderr
    run = only_run(tmp_path)
    for name in ("config.yaml", "env.json", "study.db", "trials.csv", "best.yaml", "pareto.csv", "log.txt",
                 "plots/optimization_history.png", "plots/pareto_front.png"):
        assert (run / name).is_file(), name
    assert json.loads((run / "env.json").read_text())["engines"]
    rows = [r for r in csv.DictReader((run / "trials.csv").open()) if r["outcome"] != "duplicate"]
    assert len(rows) == 8 and {r["outcome"] for r in rows} <= {"complete", "pruned"}
    for r in rows:
        metrics = json.loads((run / "trials" / f"{int(r['number']):04d}" / "metrics.json").read_text())
        assert metrics["n_examples"] in (2, 4)

    shown = archon("show", str(run))
    assert shown.returncode == 0
    assert "from cache" in " ".join(shown.stdout.split())  # rich wraps lines at the terminal width
    replay = archon("replay", str(run), "--split", "search")
    assert replay.returncode == 0 and "engine 0," in " ".join(replay.stdout.split())  # all from the cache
    held_out = archon("replay", str(run), "--split", "test", "--limit", "3")
    assert held_out.returncode == 0
    assert "95% CI" in " ".join(held_out.stdout.split())

    exported = tmp_path / "best.yaml"
    assert archon("export", str(run), "-o", str(exported)).returncode == 0
    assert archon("validate", str(exported)).returncode == 0
    best = min((r for r in rows if r["outcome"] == "complete"), key=lambda r: (-float(r["accuracy"]),
                                                                              float(r["calls_per_query"])))
    pred = json.loads((run / "trials" / f"{int(best['number']):04d}" / "predictions.jsonl").read_text()
                      .splitlines()[0])
    answered = archon("run", str(exported), "--prompt", pred["input"])
    assert answered.returncode == 0, answered.stderr
    assert answered.stdout.strip() == (pred["output"] or "").strip()
    assert "engine 0," in " ".join(answered.stderr.split())
