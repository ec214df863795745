"""A child process the tool owns: liveness, pid, and a stop that always reaps it and removes
its log (kept when it failed, so an error message can point at it)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any


class ChildProcess:
    stop_timeout_s: float = 10.0  # SIGTERM, then SIGKILL after this long
    threads: int | None = None  # CPU threads, for engines that run on CPUs

    def __init__(self) -> None:
        self._proc: subprocess.Popen[Any] | None = None
        self.log_path: Path | None = None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def stop(self, keep_log: bool = False) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        # An engine that died by itself keeps its log: the only record of why.
        keep_log = keep_log or proc.poll() is not None
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()
        if self.log_path is not None and not keep_log:
            self.log_path.unlink(missing_ok=True)
