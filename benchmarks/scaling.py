"""Scaling of `archon search` with trial workers and engine replicas, and its overhead over
the bare engines, measured side by side.

For each setting (workers x replicas, by default {1, 2} x {1, 2}) the same small search (fixed
trial count, few search examples, short completions, a fresh ARCHON_CACHE_DIR so every setting
does the same work) runs as a subprocess `archon search CONFIG --workers W` with the model's
`replicas: R` and ARCHON_CALL_LOG pointing at a per-setting file. Then exactly the work of
that call log is replayed straight at freshly started llama.cpp replicas (as many as the search
ran, routed round-robin) at concurrencies 1, 2, 4 and 8 (replay.py: same requests, same order,
same completion lengths); the best replay wall time is the engines' own saturated throughput.
Each setting repeats (search, replay) `--pairs` times: the first pair replays at every
concurrency, later ones at the best of the first. On a shared 2-core VM the same work varies by
10-20% between minutes, so a setting reports its median pair (every pair's ratio is listed).

Definitions (per setting):
  search_wall_s      wall time of the whole `archon search` command (Ray and engine start-up included)
  trials_per_min     counted trials (not duplicates) / search_wall_s * 60
  llm_busy_s         "wall time of the search's LLM work": the length of the union of the call
                     intervals [start, start + latency_s] from the call log, i.e. the time during
                     which at least one engine request was in flight
  *_tok_s            engine prompt / completion tokens of the logged calls / llm_busy_s
  overhead_ratio     llm_busy_s / best direct replay wall time (same requests, same replica count)
  search_steal, direct_steal
                     share of the machine's CPU time the hypervisor gave to other guests (cpu_steal.py)
                     during the search's LLM span and during the best replay
  overhead_ratio_steal_adjusted
                     overhead_ratio with each side's stolen CPU time taken out:
                     llm_busy_s * (1 - search_steal) / (direct wall * (1 - direct_steal)); both sides
                     are CPU-bound, so this is the ratio on a machine nobody else uses (reported beside
                     the raw ratio, with its median over the pairs)

Every setting but workers=1 x replicas=1 runs on the Ray executor (`execution.executor: ray`);
1 x 1 runs in process (`on_ray` and `engines` in the JSON say how each setting ran). Engines get the tool's
default CPUs: in process every core, on Ray 1 per replica (`--cpus-per-replica` to change; with 2
on 2 cores, 2 workers x 1 replica oversubscribes the cores: the trial processes then stall a
2-thread engine whose threads wait on each other).
The machine may be shared: os.getloadavg() is recorded before and after each setting.

    python benchmarks/scaling.py [--trials 6] [--search-size 12] [--max-tokens 16] [--settings 1x1,2x2] [--pairs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cpu_steal import StealMeter
from replay import best_replay, median_pair, repeat_pairs
from search_run import SearchFailed, run_search

MODEL = "local/smollm2-135m"
SEARCH_TIMEOUT_S = 1200


def search_config(workers: int, replicas: int, trials: int, search_size: int, max_tokens: int,
                  cpus_per_replica: float | None = None) -> dict[str, Any]:
    """The tiny search of tests/integration/test_ray_search.py with a fixed amount of work."""
    return {
        "name": f"scaling-w{workers}-r{replicas}",
        "task": {"dataset": "arithmetic", "size": max(12, 3 * search_size), "search_size": search_size,
                 "split_seed": 1},
        # Default: the tool's (in process, one engine on every core; on Ray, 1 CPU = 1 llama.cpp
        # thread per replica, so a lone replica leaves a core to the tool's own processes).
        "models": {"m": {"model": MODEL, "replicas": replicas}
                   | ({"cpus_per_replica": cpus_per_replica} if cpus_per_replica else {})},
        "space": {"name": "tiny", "defaults": {"max_tokens": max_tokens}, "layers": [
            {"name": "L0", "component": {"type": "generator",
                                         "params": {"samples": {"choices": [1, 2, 3]}, "temperature": 0.7}}},
            {"name": "L1", "choice": {"none": [], "vote": [{"component": {"type": "majority_vote"}}],
                                      "fuse": [{"component": {"type": "fuser"}}]}},
        ]},
        "search": {"trials": trials, "sampler": "tpe", "seed": 0},
        # The Ray executor for every setting but 1x1, as before the in-process executor existed.
        "execution": {"workers": workers, "cache": "shared",
                      "executor": "ray" if workers > 1 or replicas > 1 else "local"},
    }


def wait_for_load(limit: float, max_s: float = 300.0) -> None:
    """The machine may be shared: give other people's runs (and our last engines) time to end."""
    deadline = time.monotonic() + max_s
    while os.getloadavg()[0] >= limit and time.monotonic() < deadline:
        time.sleep(5)


def run_setting(workers: int, replicas: int, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """`--pairs` (search, replay) pairs; the median pair by overhead_ratio, with every pair's ratio."""
    pairs = repeat_pairs(args.pairs, lambda n, concurrencies: run_pair(
        workers, replicas, args, tmp / f"w{workers}-r{replicas}-p{n + 1}", concurrencies))
    adjusted = [p["overhead_ratio_steal_adjusted"] for p in pairs]
    return median_pair(pairs) | {
        "overhead_ratio_by_pair": [p["overhead_ratio"] for p in pairs],
        "overhead_ratio_steal_adjusted_by_pair": adjusted,
        "overhead_ratio_steal_adjusted_median": statistics.median_low(adjusted) if None not in adjusted else None,
    }


def run_pair(workers: int, replicas: int, args: argparse.Namespace, work: Path,
             concurrencies: tuple[int, ...]) -> dict[str, Any]:
    work.mkdir()
    config = search_config(workers, replicas, args.trials, args.search_size, args.max_tokens, args.cpus_per_replica)
    load_before = os.getloadavg()
    with StealMeter() as steal:
        try:
            run = run_search(config, workers, work, dict(os.environ), SEARCH_TIMEOUT_S)
        except SearchFailed as exc:
            raise SystemExit(str(exc)) from None
        threads = [e["threads"] for e in run.env["engines"]]
        calls = run.calls
        replayed = best_replay(MODEL, threads, calls, concurrencies, steal)
    load_after = os.getloadavg()
    search_steal = steal.fraction(*run.llm_window) if calls else None
    direct_steal = replayed["direct_steal"]
    return {
        "workers": workers, "replicas": replicas, "on_ray": bool(run.env.get("ray")), "engines": len(threads),
        **run.figures(),
        "llm_span_s": round(run.llm_window[1] - run.llm_window[0], 3) if calls else 0.0,
        **replayed,
        "overhead_ratio": round(run.llm_busy_s / replayed["direct_wall_s"], 3),
        "search_steal": search_steal,
        "overhead_ratio_steal_adjusted": round(run.llm_busy_s * (1 - search_steal)
                                               / (replayed["direct_wall_s"] * (1 - direct_steal)), 3)
        if search_steal is not None and direct_steal is not None else None,
        "loadavg_before": [round(x, 2) for x in load_before], "loadavg_after": [round(x, 2) for x in load_after],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--search-size", type=int, default=12)
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--settings", default="1x1,1x2,2x1,2x2", help="WORKERSxREPLICAS, comma-separated")
    parser.add_argument("--cpus-per-replica", type=float, default=None,
                        help="CPUs (= llama.cpp threads) per Ray replica; default: the model's default, 1")
    parser.add_argument("--pairs", type=int, default=3, help="(search, replay) pairs per setting")
    parser.add_argument("--target", type=float, default=1.10, help="overhead_ratio target")
    parser.add_argument("--wait-load", type=float, default=None,
                        help="before each setting wait (up to 5 min) until the 1-min load average is below this")
    parser.add_argument("--keep", type=Path, help="keep configs, run dirs and call logs here (default: a temp dir)")
    args = parser.parse_args()
    settings = [tuple(int(x) for x in s.split("x")) for s in args.settings.split(",")]

    results = []
    with tempfile.TemporaryDirectory(prefix="archon-scaling-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for workers, replicas in settings:
            if args.wait_load is not None:
                wait_for_load(args.wait_load)
            print(f"setting workers={workers} replicas={replicas} ...", file=sys.stderr, flush=True)
            results.append(run_setting(workers, replicas, args, work))
    print(json.dumps({
        "model": MODEL, "trials": args.trials, "pairs": args.pairs, "search_size": args.search_size,
        "max_tokens": args.max_tokens,
        "cpus": os.cpu_count(), "target_overhead_ratio": args.target,
        "all_within_target": all(r["overhead_ratio"] <= args.target for r in results),
        "all_within_target_steal_adjusted": all(
            (adjusted := r["overhead_ratio_steal_adjusted_median"]) is not None and adjusted <= args.target
            for r in results),
        "settings": results,
    }, indent=2))


if __name__ == "__main__":
    main()
