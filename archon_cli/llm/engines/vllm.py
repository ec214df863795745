"""`vllm/<hf-id>` without api_base: the tool starts `vllm serve` itself (optional extra).

The command line and environment are built by pure functions (unit-tested without a GPU).
The GPUs are the ones the process may see: under Ray, the replica actor reserves them with
`num_gpus` and Ray sets CUDA_VISIBLE_DEVICES, so tensor parallelism spans exactly those.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from archon_cli.config.pipeline import ModelSpec
from archon_cli.errors import EngineError, MissingDependencyError
from archon_cli.llm.engines.http_server import free_port, healthy
from archon_cli.llm.engines.process import ChildProcess
from archon_cli.llm.paths import engine_log

START_TIMEOUT_S = 900.0  # loading and compiling a large model can take minutes


def vllm_command(spec: ModelSpec, port: int, host: str = "127.0.0.1") -> list[str]:
    hf_id = spec.model.removeprefix("vllm/")
    cmd = [str(Path(sys.executable).with_name("vllm")), "serve", hf_id, "--host", host, "--port", str(port),
           "--served-model-name", hf_id]
    if spec.gpus_per_replica > 1:
        cmd += ["--tensor-parallel-size", str(spec.gpus_per_replica)]
    return cmd + list(spec.engine_args)


def vllm_env(base: Mapping[str, str]) -> dict[str, str]:
    """Offline and quiet: weights must already be local; no usage statistics sent anywhere."""
    return {**base, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "VLLM_NO_USAGE_STATS": "1",
            "DO_NOT_TRACK": "1"}


class VLLMServer(ChildProcess):
    """One `vllm serve` process; `start()` returns its root URL (the OpenAI API is under /v1)."""

    stop_timeout_s = 30.0  # vLLM frees GPU memory on a clean shutdown

    def __init__(self, spec: ModelSpec, host: str = "127.0.0.1") -> None:
        super().__init__()
        self.spec = spec
        self.host = host
        self.url: str | None = None

    def start(self) -> str:
        if importlib.util.find_spec("vllm") is None:
            raise MissingDependencyError(f"{self.spec.model} needs vLLM: pip install 'archon-cli[vllm]'")
        port = free_port()
        fd, self.log_path = engine_log("vllm-")
        self._proc = subprocess.Popen(vllm_command(self.spec, port, self.host), stdout=fd, stderr=fd,
                                      stdin=subprocess.DEVNULL, env=vllm_env(os.environ))
        os.close(fd)
        root = f"http://{self.host}:{port}"
        deadline = time.monotonic() + START_TIMEOUT_S
        while not healthy(root):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop(keep_log=True)
                raise EngineError(f"vllm serve {self.spec.model} failed to start; see {self.log_path}")
            time.sleep(1.0)
        self.url = root
        return root
