"""Run directory (README "Run directory"): layout, atomic writes, loading.

```
runs/<YYYYmmdd-HHMMSS>-<name>/
  config.yaml  env.json  study.db  trials.csv  best.yaml  pareto.csv  plots/  log.txt
  trials/NNNN/{pipeline.yaml, predictions.jsonl, metrics.json}
```
Every file but the study (SQLite) and the log (append-only lines) is written whole, to a temp
file then renamed, so a reader or a resumed search never sees half a file. The run dir is
private (0700, files 0600); the log's lines pass the redactor. A full disk is a StorageError
naming the file; what was written before stays intact, so the run can be resumed.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from archon_cli.config.loader import dump_yaml, read_yaml
from archon_cli.config.search import SearchConfig, config_to_data, parse_search_config
from archon_cli.errors import ConfigError, RunStateError
from archon_cli.fsutil import PRIVATE_DIR, append_private, atomic_write_text, private_dir, storage_errors
from archon_cli.redact import redact


@dataclass(frozen=True)
class RunDir:
    path: Path

    config_yaml = property(lambda self: self.path / "config.yaml")
    env_json = property(lambda self: self.path / "env.json")
    study_db = property(lambda self: self.path / "study.db")
    trials_csv = property(lambda self: self.path / "trials.csv")
    best_yaml = property(lambda self: self.path / "best.yaml")
    verdict_json = property(lambda self: self.path / "verdict.json")
    pareto_csv = property(lambda self: self.path / "pareto.csv")
    plots = property(lambda self: self.path / "plots")
    log_txt = property(lambda self: self.path / "log.txt")
    cache_db = property(lambda self: self.path / "llm_cache.db")

    @property
    def storage_url(self) -> str:
        return f"sqlite:///{self.study_db.resolve()}"

    def trial_dir(self, number: int) -> Path:
        return self.path / "trials" / f"{number:04d}"

    @classmethod
    def create(cls, runs_dir: Path, name: str) -> RunDir:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "search"
        private_dir(runs_dir)
        for i in range(100):
            path = runs_dir / (f"{stamp}-{slug}" + (f"-{i}" if i else ""))
            try:
                with storage_errors(path):
                    path.mkdir(mode=PRIVATE_DIR)
                return cls(path)
            except FileExistsError:
                continue
        raise RunStateError(f"{runs_dir}: cannot create a run directory")

    @classmethod
    def open(cls, path: Path) -> RunDir:
        run = cls(path)
        if not run.config_yaml.is_file() or not run.study_db.is_file():
            raise ConfigError(f"{path}: not a run directory (config.yaml and study.db expected)")
        return run

    def load_config(self) -> SearchConfig:
        return parse_search_config(read_yaml(self.config_yaml), self.config_yaml)

    def write_config(self, cfg: SearchConfig) -> None:
        atomic_write_text(self.config_yaml, dump_yaml(config_to_data(cfg)))

    def write_json(self, path: Path, data: Any) -> None:
        atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")

    def write_jsonl(self, path: Path, rows: list[dict[str, Any]]) -> None:
        atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows))

    def log(self, message: str) -> None:
        private_dir(self.path)
        append_private(self.log_txt, f"{datetime.now().isoformat(timespec='seconds')} {redact(message)}\n")

    def trial_metrics(self, number: int) -> dict[str, Any] | None:
        path = self.trial_dir(number) / "metrics.json"
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return data
        except (OSError, json.JSONDecodeError):
            return None

    def predictions(self, number: int) -> list[dict[str, Any]]:
        path = self.trial_dir(number) / "predictions.jsonl"
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError:
            raise RunStateError(f"{path}: no predictions for trial {number}") from None
        return [json.loads(line) for line in lines if line.strip()]


def list_runs(runs_dir: Path) -> list[RunDir]:
    if not runs_dir.is_dir():
        return []
    return sorted((RunDir(p) for p in runs_dir.iterdir() if (p / "config.yaml").is_file()), key=lambda r: r.path.name)


def env_info(engines: list[dict[str, object]] | None = None) -> dict[str, Any]:
    """Versions, git sha, hardware and engines: what a result needs to be reproduced."""
    from importlib.metadata import PackageNotFoundError, version

    versions: dict[str, str | None] = {}
    for pkg in ("archon-cli", "optuna", "litellm", "pydantic", "xllamacpp", "ray", "reasoning-gym"):
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = None
    return {
        "created": datetime.now().isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "git_sha": _git_sha(),
        "versions": versions,
        "engines": engines or [],
        "time": time.time(),
    }


def _git_sha() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def _memory_gb() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None
