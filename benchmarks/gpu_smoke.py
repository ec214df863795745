"""GPU smoke test: a small `archon search` on Ray whose engine replica actors reserve GPUs.

On a machine with a CUDA GPU (`nvidia-smi -L`, else torch.cuda when torch is installed) it runs
`archon search --workers W` with one model of `gpus_per_replica: 1`, so each engine replica is a
Ray actor holding one GPU, and prints JSON: the GPUs, which GPU each replica got, search wall
time, trials/min, engine calls and tokens/s over the LLM-busy time (the union of the logged call
intervals, see search_run.py). The engine (`--engine`):
  vllm   `vllm serve MODEL` (MODEL: a Hugging Face id already in the local cache, or a local
         directory; nothing is downloaded: HF_HUB_OFFLINE=1);
  local  the embedded llama.cpp engine with every layer on the GPU (MODEL: smollm2-135m or a
         GGUF path); needs a CUDA build of xllamacpp (the PyPI wheel is CPU-only);
  auto   vllm when it is installed, else local.
Exit codes: 0 = ran (or no GPU here: JSON {"gpu": false, "message": ...}); 2 = a GPU but no
usable engine or model; 1 = the search failed.

    python benchmarks/gpu_smoke.py --engine vllm --model Qwen/Qwen2.5-0.5B-Instruct [--trials 6]
    python benchmarks/gpu_smoke.py --engine local [--replicas 1]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, NoReturn

from search_run import SearchFailed, run_search

from archon_cli.llm.engines.llamacpp_server import NO_GPU, gpu_devices
from archon_cli.llm.engines.vllm import vllm_env


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


def emit(data: dict[str, Any], code: int) -> NoReturn:
    print(json.dumps(data, indent=2))
    if code and "message" in data:
        print(data["message"], file=sys.stderr)
    raise SystemExit(code)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", choices=["auto", "vllm", "local"], default="auto")
    parser.add_argument("--model", help="vllm: HF id in the local cache or a model directory; "
                                        "local: smollm2-135m (default) or PATH.gguf")
    parser.add_argument("--replicas", type=int, default=1, help="engine replicas, one GPU each")
    parser.add_argument("--workers", type=int, default=2,
                        help="trials in flight; > 1 runs on Ray, where replicas reserve GPUs")
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--search-size", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--engine-arg", action="append", default=None,
                        help="extra `vllm serve` argument (repeatable; default: --max-model-len 4096)")
    args = parser.parse_args()
    os.environ.update(vllm_env({}))  # nothing is downloaded, not even to check the model

    gpus = cuda_gpus()
    if not gpus:
        emit({"gpu": False, "message": "no CUDA GPU on this machine (nvidia-smi -L lists none, torch.cuda "
              "unavailable); the GPU smoke test did not run"}, 0)
    base: dict[str, Any] = {"gpu": True, "gpus": gpus}
    engine = args.engine
    if engine == "auto":
        engine = "vllm" if importlib.util.find_spec("vllm") is not None else "local"
    base["engine"] = engine
    if engine == "vllm":
        model = f"vllm/{check_vllm_model(args.model, base)}"
    else:
        model = f"local/{args.model or 'smollm2-135m'}"
        check_llamacpp_gpu(base)
    if args.replicas > len(gpus):
        emit(base | {"message": f"{args.replicas} replicas need {args.replicas} GPUs; {len(gpus)} here"}, 2)
    engine_args = args.engine_arg if args.engine_arg is not None else ["--max-model-len", "4096"]
    emit(base | run_gpu_search(args, model, engine_args if engine == "vllm" else []), 0)


def check_vllm_model(model: str | None, base: dict[str, Any]) -> str:
    if importlib.util.find_spec("vllm") is None:
        emit(base | {"vllm": False, "message": "a GPU is here but vLLM is not installed: "
                     "pip install 'archon-cli[vllm]', or --engine local; the GPU smoke test did not run"}, 2)
    if not model:
        emit(base | {"message": "give --model: a Hugging Face id already in the local cache (nothing is "
                     "downloaded) or a local model directory"}, 2)
    if not model_available(model):
        emit(base | {"model": model, "message": f"{model} is not in the local Hugging Face cache "
                     "and is no local directory; nothing is downloaded (HF_HUB_OFFLINE=1)"}, 2)
    return model


def check_llamacpp_gpu(base: dict[str, Any]) -> None:
    if importlib.util.find_spec("xllamacpp") is None:
        emit(base | {"message": "xllamacpp is not installed; the GPU smoke test did not run"}, 2)
    import xllamacpp

    devices = gpu_devices(xllamacpp.get_device_info())
    if not devices:
        emit(base | {"message": f"{NO_GPU}; the GPU smoke test did not run"}, 2)
    base["llamacpp_devices"] = devices


def search_config(args: argparse.Namespace, model: str, engine_args: list[str]) -> dict[str, Any]:
    """The tiny search of scaling.py, with a model whose replicas each reserve one GPU."""
    return {
        "name": "gpu-smoke",
        "task": {"dataset": "arithmetic", "size": max(12, 3 * args.search_size),
                 "search_size": args.search_size, "split_seed": 1},
        "models": {"m": {"model": model, "replicas": args.replicas, "gpus_per_replica": 1,
                         "cpus_per_replica": 1, "max_concurrency": 32, "engine_args": engine_args}},
        "space": {"name": "tiny", "defaults": {"max_tokens": args.max_tokens}, "layers": [
            {"name": "L0", "component": {"type": "generator",
                                         "params": {"samples": {"choices": [1, 2, 4]}, "temperature": 0.7}}},
            {"name": "L1", "choice": {"none": [], "vote": [{"component": {"type": "majority_vote"}}],
                                      "fuse": [{"component": {"type": "fuser"}}]}},
        ]},
        "search": {"trials": args.trials, "sampler": "tpe", "seed": 0},
        "execution": {"workers": args.workers},
    }


def run_gpu_search(args: argparse.Namespace, model: str, engine_args: list[str]) -> dict[str, Any]:
    config = search_config(args, model, engine_args)
    with tempfile.TemporaryDirectory(prefix="archon-gpu-smoke-") as tmp:
        try:
            run = run_search(config, args.workers, Path(tmp), vllm_env(os.environ), 3600)
        except SearchFailed as exc:
            emit({"gpu": True, "message": str(exc)}, 1)
    return {
        "model": model, "replicas": args.replicas, "workers": args.workers,
        "engines": [{"gpus": e.get("gpus"), "node_id": str(e.get("node_id", ""))[:8], "restarts": e.get("restarts")}
                    for e in run.env.get("engines", [])],
        **run.figures(),
    }

if __name__ == "__main__":
    main()
