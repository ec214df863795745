"""Search cost: engine tokens a search actually spent vs. what the same trials would have spent
with no LLM cache and no multi-fidelity (every trial on every search example, every call to an
engine). Computed from the calls recorded per trial. Prints JSON.

    python benchmarks/search_cost.py                       # runs configs/quickstart.yaml, fresh cache
    python benchmarks/search_cost.py --run-dir runs/RUN    # an existing run
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def measure(run_dir: Path) -> dict[str, Any]:
    from archon_cli.runs import RunDir
    from archon_cli.search.results import trial_rows
    from archon_cli.search.split import split
    from archon_cli.search.study import open_study
    from archon_cli.tasks.loading import load_task

    run = RunDir.open(run_dir)
    cfg = run.load_config()
    examples, _ = load_task(cfg.task.dataset, cfg.task.scorer, limit=cfg.task.size, seed=cfg.task.seed)
    n_search = len(split(examples, cfg.task)[0])
    study = open_study(run, cfg)
    rows = [r for r in trial_rows(study, cfg) if r["outcome"] != "duplicate"]
    spent_prompt = spent_completion = naive_prompt = naive_completion = 0.0
    for r in rows:
        a = next(t for t in study.get_trials(deepcopy=False) if t.number == r["number"]).user_attrs
        spent_prompt += a.get("prompt_tokens", 0) - a.get("cached_prompt_tokens", 0)
        spent_completion += a.get("completion_tokens", 0) - a.get("cached_completion_tokens", 0)
        n = a.get("n_examples", 0)
        if n:  # per-query tokens of this architecture, over the whole search split, all from engines
            naive_prompt += a.get("prompt_tokens", 0) / n * n_search
            naive_completion += a.get("completion_tokens", 0) / n * n_search
    spent, naive = spent_prompt + spent_completion, naive_prompt + naive_completion
    calls = sum(r["calls"] or 0 for r in rows)
    hits = sum(r["cache_hits"] or 0 for r in rows)
    return {
        "run_dir": str(run.path), "trials": len(rows), "search_examples": n_search,
        "engine_prompt_tokens": int(spent_prompt), "engine_completion_tokens": int(spent_completion),
        "naive_prompt_tokens": round(naive_prompt), "naive_completion_tokens": round(naive_completion),
        "search_cost_ratio": round(spent / naive, 4) if naive else None,
        "llm_calls": calls, "cache_hit_fraction": round(hits / calls, 4) if calls else None,
        "stop_reason": study.user_attrs.get("stop_reason"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="configs/quickstart.yaml")
    parser.add_argument("--run-dir", type=Path, help="measure this run instead of running a search")
    parser.add_argument("--trials", type=int)
    args = parser.parse_args()
    if args.run_dir is None:
        from archon_cli.cli.app import main as archon

        tmp = Path(tempfile.mkdtemp(prefix="archon-search-cost-"))
        os.environ["ARCHON_CACHE_DIR"] = str(tmp / "cache")  # a fresh cache: nothing spent before counts
        argv = ["search", args.config, "--runs-dir", str(tmp / "runs")]
        if args.trials:
            argv += ["--trials", str(args.trials)]
        rc = archon(argv)
        if rc != 0:
            raise SystemExit(rc)
        args.run_dir = next((tmp / "runs").iterdir())
    print(json.dumps(measure(args.run_dir), indent=2))


if __name__ == "__main__":
    main()
