"""The embedded engine under contention: `archon eval` idle and with a one-core CPU hog beside it.

Runs `archon eval PIPELINE --dataset arithmetic --limit 12 --no-cache` as a subprocess (the
whole command: start-up, engine start, 12 calls), in `--pairs` interleaved (idle, loaded)
pairs; loaded = one busy-looping process started just before and stopped just after the eval
(it also stops itself after `HOG_MAX_S`, so it cannot outlive the script). Calls cut short are
counted from the call log (ARCHON_CALL_LOG lines with an `outcome`): `timeout` and `cancelled`
count as cut short; `error` attempts (refused, 5xx) are listed with their message.
`--threads N` runs the same with `threads: N` on every model (to compare settings); without it,
the tool's default.

Prints JSON: per pair idle_wall_s, loaded_wall_s, contention_ratio = idle / loaded; the median
ratio and its spread; cancelled_or_timed_out (all runs); /proc/loadavg before and after, since
the machine may be loaded by other work. Targets: contention_ratio >= 0.35, 0 cancellations.

    python benchmarks/contention.py [--pipeline configs/single_model.yaml] [--pairs 3] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
HOG_MAX_S = 900  # the hog exits by itself after this long, whatever happens to this script
HOG = f"import time\nend = time.monotonic() + {HOG_MAX_S}\nwhile time.monotonic() < end:\n    pass\n"


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return "n/a"


def pipeline_with_threads(pipeline: Path, threads: int | None, work: Path) -> Path:
    if threads is None:
        return pipeline
    data = yaml.safe_load(pipeline.read_text())
    for spec in data["models"].values():
        spec["threads"] = threads
    out = work / f"pipeline-threads{threads}.yaml"
    out.write_text(yaml.safe_dump(data))
    return out


def eval_once(pipeline: Path, limit: int, work: Path, tag: str, loaded: bool) -> dict[str, Any]:
    log = work / f"calls-{tag}.jsonl"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ARCHON_CALL_LOG": str(log), "ARCHON_CACHE_DIR": str(work / "cache")}
    cmd = [sys.executable, "-m", "archon_cli", "eval", str(pipeline), "--dataset", "arithmetic",
           "--limit", str(limit), "--no-cache"]
    hog = subprocess.Popen([sys.executable, "-c", HOG]) if loaded else None
    run = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    try:
        start = time.perf_counter()
        _, stderr = run.communicate(timeout=1800)
        wall = time.perf_counter() - start
    finally:
        if run.poll() is None:
            run.send_signal(signal.SIGINT)  # archon stops its engine on Ctrl-C
            run.wait()
        if hog is not None:
            hog.kill()
            hog.wait()
    lines = [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []
    failed = [c for c in lines if c.get("outcome", "ok") != "ok"]
    tokens = sum(c["completion_tokens"] for c in lines if c.get("outcome", "ok") == "ok")
    return {"wall_s": round(wall, 2), "exit_code": run.returncode, "engine_calls": len(lines) - len(failed),
            "completion_tokens": tokens,
            # a generation cancelled or timed out (the livelock of issue 16) vs a failed attempt
            # that produced nothing (a connection refused or a 503 while the engine loads)
            "cut_short": sum(c["outcome"] in ("timeout", "cancelled") for c in failed),
            "other_failed_attempts": [f'{c["outcome"]}: {c.get("error", "")[:200]}' for c in failed
                                      if c["outcome"] not in ("timeout", "cancelled")],
            "stderr_tail": stderr.strip().splitlines()[-1:] if run.returncode else []}


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    # SIGTERM (e.g. `timeout`) unwinds like Ctrl-C, so the hog and the eval are stopped, not orphaned
    signal.signal(signal.SIGTERM, _interrupt)
    parser = argparse.ArgumentParser()
    parser.add_argument("--pipeline", type=Path, default=ROOT / "configs/single_model.yaml")
    parser.add_argument("--limit", type=int, default=12)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="threads: N on every model (default: the tool's)")
    args = parser.parse_args()
    before = loadavg()
    pairs = []
    with tempfile.TemporaryDirectory(prefix="archon-contention-") as tmp:
        work = Path(tmp)
        pipeline = pipeline_with_threads(args.pipeline, args.threads, work)
        for i in range(args.pairs):
            # alternate which run goes first, so a drift in foreign load does not favour one side
            order = (False, True) if i % 2 == 0 else (True, False)
            runs = {loaded: eval_once(pipeline, args.limit, work, f"{i}-{int(loaded)}", loaded) for loaded in order}
            idle, busy = runs[False], runs[True]
            pairs.append({"idle": idle, "loaded": busy, "loadavg": loadavg(),
                          "contention_ratio": round(idle["wall_s"] / busy["wall_s"], 3)})
    ratios = [p["contention_ratio"] for p in pairs]
    from archon_cli.llm.engines.llamacpp import default_threads

    print(json.dumps({
        "command": f"archon eval {args.pipeline.name} --dataset arithmetic --limit {args.limit} --no-cache",
        "threads": args.threads or f"default ({default_threads()})",
        "cpus": len(os.sched_getaffinity(0)),
        "pairs": pairs,
        "idle_wall_s_median": statistics.median(p["idle"]["wall_s"] for p in pairs),
        "loaded_wall_s_median": statistics.median(p["loaded"]["wall_s"] for p in pairs),
        "contention_ratio": statistics.median(ratios),
        "contention_ratio_spread": [min(ratios), max(ratios)],
        "cancelled_or_timed_out": sum(p[k]["cut_short"] for p in pairs for k in ("idle", "loaded")),
        "failed_runs": sum(p[k]["exit_code"] != 0 for p in pairs for k in ("idle", "loaded")),
        "loadavg_before": before,
        "loadavg_after": loadavg(),
        "targets": {"contention_ratio": ">= 0.35", "cancelled_or_timed_out": 0},
    }, indent=2))


if __name__ == "__main__":
    main()
