"""Running one `archon search` for a benchmark: a config in a work dir, its own cache and call
log, wall time, and what the run dir says (trials, engines). Used by scaling.py and gpu_smoke.py."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from replay import read_call_log

ROOT = Path(__file__).resolve().parents[1]
NOT_RUN = {"duplicate", "waiting", "running"}  # trials.csv rows that are no evaluated trial


class SearchFailed(RuntimeError):
    pass


@dataclass
class SearchRun:
    wall_s: float
    trials: list[dict[str, str]]  # evaluated trials (trials.csv rows)
    env: dict[str, Any]  # env.json
    calls: list[dict[str, Any]]  # the engine calls, in the order sent

    @property
    def trials_per_min(self) -> float:
        return len(self.trials) / self.wall_s * 60

    @property
    def prompt_tokens(self) -> int:
        return sum(c["prompt_tokens"] for c in self.calls)

    @property
    def completion_tokens(self) -> int:
        return sum(c["completion_tokens"] for c in self.calls)

    def figures(self) -> dict[str, Any]:
        """The figures every benchmark of a search reports; tokens/s over the LLM-busy time."""
        busy = self.llm_busy_s
        return {
            "trials": len(self.trials), "outcomes": sorted({r["outcome"] for r in self.trials}),
            "search_wall_s": round(self.wall_s, 3), "trials_per_min": round(self.trials_per_min, 2),
            "engine_calls": len(self.calls), "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cached_prompt_tokens": sum(c.get("cached_prompt_tokens", 0) for c in self.calls),
            "llm_busy_s": round(busy, 3),
            "prompt_tok_s": round(self.prompt_tokens / busy, 1) if busy else None,
            "completion_tok_s": round(self.completion_tokens / busy, 1) if busy else None,
        }

    @property
    def llm_window(self) -> tuple[float, float]:
        """Wall-clock times (time.time()) of the first call's start and the last call's end."""
        return min(c["start"] for c in self.calls), max(c["start"] + c["latency_s"] for c in self.calls)

    @property
    def llm_busy_s(self) -> float:
        """Length of the union of the call intervals [start, start + latency_s]: the time during
        which at least one engine request was in flight."""
        total, cur_start, cur_end = 0.0, None, 0.0
        for s, e in sorted((c["start"], c["start"] + c["latency_s"]) for c in self.calls):
            if cur_start is None or s > cur_end:
                total += (cur_end - cur_start) if cur_start is not None else 0.0
                cur_start, cur_end = s, e
            else:
                cur_end = max(cur_end, e)
        return total + ((cur_end - cur_start) if cur_start is not None else 0.0)


def run_search(config: dict[str, Any], workers: int, work: Path, env: dict[str, str], timeout_s: float) -> SearchRun:
    """`archon search` on `config` (its runs_dir is set to work/runs) with a fresh cache; raises
    SearchFailed with the search's stderr if it fails."""
    import yaml

    cfg = work / "search.yaml"
    cfg.write_text(yaml.safe_dump(config | {"runs_dir": str(work / "runs")}))
    call_log = work / "calls.jsonl"
    env = env | {"ARCHON_CACHE_DIR": str(work / "cache"), "ARCHON_CALL_LOG": str(call_log)}
    t0 = time.perf_counter()
    # `python -m archon_cli` rather than the `archon` script: it also runs where the package is
    # only on PYTHONPATH (e.g. a GPU machine with its own Python).
    proc = subprocess.run([sys.executable, "-m", "archon_cli", "search", str(cfg), "--workers", str(workers)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout_s)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SearchFailed(f"archon search ({config['name']}) failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    (run,) = [p for p in (work / "runs").iterdir() if p.is_dir()]
    trials = [r for r in csv.DictReader((run / "trials.csv").open()) if r["outcome"] not in NOT_RUN]
    calls = read_call_log(call_log) if call_log.is_file() else []
    return SearchRun(wall, trials, json.loads((run / "env.json").read_text()), calls)
