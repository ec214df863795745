"""Child process that serves one GGUF file with xllamacpp's llama.cpp server on 127.0.0.1.

Run as `python -m archon_cli.llm.engines.llamacpp_server --model PATH ...`. Prints one JSON
line `{"url": ...}` on stdout when listening, then serves until killed; or `{"error": ...}` and
exits when it cannot serve as asked (`--gpu` with an xllamacpp build that sees no GPU). It
exits by itself when its parent dies, so an engine is never orphaned, even after SIGKILL of the
tool.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from typing import Any

NO_GPU = ("this xllamacpp build sees no GPU (a CPU-only build, or no visible GPU); GPU replicas of "
          "local/ models need a CUDA build of xllamacpp: see README, 'Scaling out with Ray'")


def _exit_with_parent(parent: int) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(0)
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--slots", type=int, required=True)
    parser.add_argument("--ctx-per-slot", type=int, required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--gpu", action="store_true", help="offload every layer to the visible GPUs")
    args = parser.parse_args()

    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()

    import xllamacpp

    if args.gpu and not gpu_devices(xllamacpp.get_device_info()):
        print(json.dumps({"error": NO_GPU}), flush=True)
        raise SystemExit(1)
    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.n_parallel = args.slots
    params.n_ctx = args.slots * args.ctx_per_slot
    params.port = args.port
    params.hostnames = [args.host]
    # CPU replicas stay off the GPU (GPUs belong to the replicas that reserved them); -1 = all layers.
    params.n_gpu_layers = -1 if args.gpu else 0
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    # Worker threads sleep between graphs instead of spinning (poll 50): on a small machine the
    # tool itself shares the cores, and spinning threads take the CPU its client needs between
    # calls. Measured on 2 cores: the same 1x1 search's LLM work took 22.1/21.8 s vs 23.7/23.1 s
    # with spinning; a replay on the engine alone was unchanged (19.3/21.0 s vs 20.3/20.3 s).
    params.cpuparams.poll = 0
    params.cpuparams_batch.poll = 0
    server = xllamacpp.Server(params)
    print(json.dumps({"url": server.listening_address}), flush=True)
    sys.stdout.close()
    threading.Event().wait()


def gpu_devices(devices: list[dict[str, Any]]) -> list[str]:
    """Names of the GPUs in xllamacpp's device list (types GPU and IGPU; not CPU or ACCEL)."""
    return [str(d["name"]) for d in devices if "GPU" in getattr(d.get("type"), "name", "")]


if __name__ == "__main__":
    main()
