"""Shared helpers for search tests: tiny search configs written to a temp dir."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

TINY_SPACE: dict[str, Any] = {
    "name": "tiny",
    "defaults": {"max_tokens": 16},
    "layers": [
        {"name": "L0", "component": {"type": "generator", "params": {"samples": {"choices": [1, 2, 3]},
                                                                       "temperature": 0.7}}},
        {"name": "L1", "choice": {
            "none": [],
            "vote": [{"component": {"type": "majority_vote"}}],
            "fuse": [{"component": {"type": "fuser"}}],
            "rank": [{"component": {"type": "ranker", "params": {"top_k": {"choices": [1, 2]}}}}],
        }},
    ],
}


def search_config(tmp: Path, *, model: str = "fake/scripted", trials: int = 4, budget: dict[str, Any] | None = None,
                  size: int = 20, search_size: int = 4, rungs: list[int] | None = None,
                  objectives: list[str] | None = None, sampler: str = "tpe", space: dict[str, Any] | None = None,
                  eta: int = 3, execution: dict[str, Any] | None = None, **search: Any) -> Path:
    cfg = {
        "name": "t",
        "task": {"dataset": "arithmetic", "size": size, "search_size": search_size, "split_seed": 1},
        "models": {"m": {"model": model}},
        "space": space or TINY_SPACE,
        "budget": budget or {},
        "search": {"trials": trials, "sampler": sampler, "objectives": objectives or ["accuracy"],
                   "fidelity": {"rungs": rungs or [], "eta": eta}, **search},
        "runs_dir": str(tmp / "runs"),
    } | ({"execution": execution} if execution else {})
    path = tmp / "search.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def only_run(tmp: Path) -> Path:
    runs = [p for p in (tmp / "runs").iterdir() if p.is_dir()]
    assert len(runs) == 1, runs
    return runs[0]
