"""GPU smoke test: a small `archon search` on Ray whose engine replica actors reserve GPUs.

On a machine with a CUDA GPU (`nvidia-smi -L`, else torch.cuda when torch is installed) it runs
`archon search --workers W` with `models: {m: {model: vllm/MODEL, gpus_per_replica: 1}}`, so
each engine replica is a Ray actor holding one GPU and serving `vllm serve MODEL`, and prints
JSON: the GPUs, which GPU each replica got, search wall time, trials/min, engine calls and
tokens/s over the LLM-busy time (the union of the logged call intervals, see scaling.py).

Nothing is downloaded: HF_HUB_OFFLINE=1, so MODEL must be a Hugging Face id already in the
local cache, or a local directory. Exit codes: 0 = ran (or no GPU here: JSON {"gpu": false,
"message": ...}); 2 = a GPU but no vLLM / no usable model; 1 = the search failed.

    python benchmarks/gpu_smoke.py --model Qwen/Qwen2.5-0.5B-Instruct [--trials 6] [--replicas 1]
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NOT_RUN = {"duplicate", "waiting", "running"}
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1"}


def cuda_gpus() -> list[str]:
    """Names of the CUDA GPUs this process can see; [] when there are none."""
    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            out = None
        if out is not None and out.returncode == 0:
            gpus = [line.strip() for line in out.stdout.splitlines() if line.startswith("GPU ")]
            if gpus:
                return gpus
    if importlib.util.find_spec("torch") is not None:
        try:
            import torch

            if torch.cuda.is_available():
                return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        except Exception:  # a broken CUDA install counts as no GPU
            return []
    return []


def model_available(model: str) -> bool:
    """A local directory, or a Hugging Face id whose snapshot is in the local cache (no network)."""
    if Path(model).expanduser().is_dir():
        return True
    try:
        from huggingface_hub import snapshot_download

        snapshot_download(model, local_files_only=True)
        return True
    except Exception:
        return False


def busy_union_s(calls: list[dict[str, Any]]) -> float:
    """Length of the union of the call intervals [start, start + latency_s]."""
    total, cur_start, cur_end = 0.0, None, 0.0
    for s, e in sorted((c["start"], c["start"] + c["latency_s"]) for c in calls):
        if cur_start is None or s > cur_end:
            total += (cur_end - cur_start) if cur_start is not None else 0.0
            cur_start, cur_end = s, e
        else:
            cur_end = max(cur_end, e)
    return total + ((cur_end - cur_start) if cur_start is not None else 0.0)


def emit(data: dict[str, Any], code: int) -> None:
    print(json.dumps(data, indent=2))
    if code and "message" in data:
        print(data["message"], file=sys.stderr)
    raise SystemExit(code)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", help="HF id in the local cache, or a local model directory (served by vLLM)")
    parser.add_argument("--replicas", type=int, default=1, help="engine replicas, one GPU each")
    parser.add_argument("--workers", type=int, default=2, 
                        help="trials in flight; > 1 runs on Ray, where replicas reserve GPUs")
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--search-size", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--engine-arg", action="append", default=None,
                        help="extra `vllm serve` argument (repeatable; default: --max-model-len 4096)")
    args = parser.parse_args()
    os.environ.update(OFFLINE)

    gpus = cuda_gpus()
    if not gpus:
        emit({"gpu": False, "message": "no CUDA GPU on this machine (nvidia-smi -L lists none, torch.cuda "
              "unavailable); the GPU smoke test did not run"}, 0)
    base: dict[str, Any] = {"gpu": True, "gpus": gpus}
    if importlib.util.find_spec("vllm") is None:
        emit(base | {"vllm": False, "message": "a GPU is here but vLLM is not installed: "
                     "pip install 'archon-cli[vllm]'; the GPU smoke test did not run"}, 2)
    if not args.model:
        emit(base | {"message": "give --model: a Hugging Face id already in the local cache (nothing is "
                     "downloaded) or a local model directory"}, 2)
    if not model_available(args.model):
        emit(base | {"model": args.model, "message": f"{args.model} is not in the local Hugging Face cache "
                     "and is no local directory; nothing is downloaded (HF_HUB_OFFLINE=1)"}, 2)
    if args.replicas > len(gpus):
        emit(base | {"message": f"{args.replicas} replicas need {args.replicas} GPUs; {len(gpus)} here"}, 2)
    engine_args = args.engine_arg if args.engine_arg is not None else ["--max-model-len", "4096"]
    emit(base | run_search(args, engine_args), 0)


def search_config(args: argparse.Namespace, engine_args: list[str], runs_dir: Path) -> dict[str, Any]:
    """The tiny search of scaling.py, with a vLLM model whose replicas each reserve one GPU."""
    return {
        "name": "gpu-smoke",
        "task": {"dataset": "arithmetic", "size": max(12, 3 * args.search_size),
                 "search_size": args.search_size, "split_seed": 1},
        "models": {"m": {"model": f"vllm/{args.model}", "replicas": args.replicas, "gpus_per_replica": 1,
                         "cpus_per_replica": 1, "max_concurrency": 32, "engine_args": engine_args}},
        "space": {"name": "tiny", "defaults": {"max_tokens": args.max_tokens}, "layers": [
            {"name": "L0", "component": {"type": "generator",
                                         "params": {"samples": {"choices": [1, 2, 4]}, "temperature": 0.7}}},
            {"name": "L1", "choice": {"none": [], "vote": [{"component": {"type": "majority_vote"}}],
                                      "fuse": [{"component": {"type": "fuser"}}]}},
        ]},
        "search": {"trials": args.trials, "sampler": "tpe", "seed": 0},
        "execution": {"workers": args.workers},
        "runs_dir": str(runs_dir),
    }


def run_search(args: argparse.Namespace, engine_args: list[str]) -> dict[str, Any]:
    import yaml

    with tempfile.TemporaryDirectory(prefix="archon-gpu-smoke-") as tmp_name:
        tmp = Path(tmp_name)
        cfg = tmp / "search.yaml"
        cfg.write_text(yaml.safe_dump(search_config(args, engine_args, tmp / "runs")))
        call_log = tmp / "calls.jsonl"
        env = {**os.environ, **OFFLINE, "ARCHON_CACHE_DIR": str(tmp / "cache"), "ARCHON_CALL_LOG": str(call_log)}
        t0 = time.perf_counter()
        proc = subprocess.run([str(Path(sys.executable).parent / "archon"), "search", str(cfg),
                               "--workers", str(args.workers)],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            emit({"gpu": True, "message": f"archon search failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}"}, 1)
        (run,) = [p for p in (tmp / "runs").iterdir() if p.is_dir()]
        rows = [r for r in csv.DictReader((run / "trials.csv").open()) if r["outcome"] not in NOT_RUN]
        run_env = json.loads((run / "env.json").read_text())
        calls = [json.loads(line) for line in call_log.read_text().splitlines() if line.strip()] \
            if call_log.is_file() else []
    busy = busy_union_s(calls)
    prompt = sum(c["prompt_tokens"] for c in calls)
    completion = sum(c["completion_tokens"] for c in calls)
    return {
        "model": args.model, "replicas": args.replicas, "workers": args.workers,
        "engines": [{"gpus": e.get("gpus"), "node_id": str(e.get("node_id", ""))[:8], "restarts": e.get("restarts")}
                    for e in run_env.get("engines", [])],
        "trials": len(rows), "outcomes": sorted({r["outcome"] for r in rows}),
        "search_wall_s": round(wall, 3), "trials_per_min": round(len(rows) / wall * 60, 2),
        "engine_calls": len(calls), "prompt_tokens": prompt, "completion_tokens": completion,
        "llm_busy_s": round(busy, 3),
        "prompt_tok_s": round(prompt / busy, 1) if busy else None,
        "completion_tok_s": round(completion / busy, 1) if busy else None,
    }


if __name__ == "__main__":
    main()
