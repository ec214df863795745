"""Child process that serves one GGUF file with xllamacpp's llama.cpp server on 127.0.0.1.

Run as `python -m archon_cli.llm.engines.llamacpp_server --model PATH ...`. Prints one JSON
line `{"url": ...}` on stdout when listening, then serves until killed. It exits by itself
when its parent dies, so an engine is never orphaned, even after SIGKILL of the tool.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time


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
    args = parser.parse_args()

    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()

    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.n_parallel = args.slots
    params.n_ctx = args.slots * args.ctx_per_slot
    params.port = args.port
    params.hostnames = [args.host]
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    server = xllamacpp.Server(params)
    print(json.dumps({"url": server.listening_address}), flush=True)
    sys.stdout.close()
    threading.Event().wait()


if __name__ == "__main__":
    main()
