"""Record a landscape: every architecture of a fixed space evaluated on the same examples through
the real engine and cache, as a compact table (one row per configuration × example: score,
calls, prompt and completion tokens), for the search-quality benchmark.

    python benchmarks/landscape/record.py [--space benchmarks/landscape/space.yaml] [--examples 200] \
        [--dataset arithmetic] [--out benchmarks/landscape/arithmetic] [--jobs 2]

Writes OUT.csv.gz (the table) and OUT.json (the configurations, the examples, how it was made).
Configurations run cheapest first over one LLM client and cache, so the samples a generator
drew are reused by every configuration that shares them; the tokens recorded are each
configuration's own (cached calls count what they cost when first made), so a configuration
costs the same in the table whatever was recorded before it. Prints a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def record_shard(space_path: Path, dataset: str, n_examples: int, seed: int, shard: int,
                 shards: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every configuration on every `shards`-th example from `shard`, over one client (one
    engine): the rows of the table and the configurations."""
    from archon_cli.components.describe import describe_spec
    from archon_cli.config.space import load_space
    from archon_cli.evaluate import evaluate
    from archon_cli.llm.session import open_client
    from archon_cli.pipeline import Pipeline
    from archon_cli.search.space import enumerate_space
    from archon_cli.tasks.loading import load_task

    space = load_space(space_path)
    examples, scorer = load_task(dataset, None, limit=n_examples, seed=seed)
    examples = examples[shard::shards]
    points = [p for p in enumerate_space(space, space.models) if p.spec is not None]
    points.sort(key=lambda p: Pipeline(p.spec).estimate_calls().calls)  # type: ignore[arg-type]
    rows: list[dict[str, Any]] = []
    configs: list[dict[str, Any]] = []
    started = time.monotonic()
    with open_client(space.models) as client:
        for cid, point in enumerate(points):
            assert point.spec is not None
            done = evaluate(Pipeline(point.spec), examples, scorer, client)
            configs.append({"config": cid, "params": point.params, "architecture": describe_spec(point.spec),
                            "layers": point.spec.to_yaml_data()["layers"]})
            for ex, res, score in zip(examples, done.results, done.scores, strict=True):
                u = res.usage
                rows.append({"config": cid, "example": ex.id, "score": 0.0 if score is None else score,
                             "calls": u.calls, "prompt_tokens": u.prompt_tokens,
                             "completion_tokens": u.completion_tokens, "engine_calls": u.engine_calls})
            mean = sum(s or 0 for s in done.scores) / len(examples)
            print(f"[shard {shard}, {time.monotonic() - started:.0f}s] config {cid + 1}/{len(points)} "
                  f"{configs[-1]['architecture']}: {mean:.3f}", file=sys.stderr, flush=True)
    return rows, configs


def record(space_path: Path, dataset: str, n_examples: int, seed: int, out: Path, jobs: int) -> dict[str, Any]:
    """Record the table in `jobs` processes, each with its own engine on its share of the
    examples: the embedded engine runs one thread (llamacpp.default_threads), so one process per
    core is what fills the machine."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import pandas as pd

    from archon_cli.config.loader import read_yaml
    from archon_cli.tasks.loading import load_task

    examples, _ = load_task(dataset, None, limit=n_examples, seed=seed)
    started = time.monotonic()
    if jobs == 1:  # in this process (a test's fake model is registered here)
        shards = [record_shard(space_path, dataset, n_examples, seed, 0, 1)]
    else:
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            shards = list(pool.map(record_shard, *zip(*[(space_path, dataset, n_examples, seed, k, jobs)
                                                        for k in range(jobs)], strict=True)))
    configs = shards[0][1]
    table = pd.DataFrame([row for rows, _ in shards for row in rows])
    order = {ex.id: i for i, ex in enumerate(examples)}
    table = table.sort_values(["config", "example"], key=lambda c: c.map(order) if c.name == "example" else c)
    table.to_csv(out.with_suffix(".csv.gz"), index=False, compression="gzip")
    meta = {"space": read_yaml(space_path), "dataset": dataset, "seed": seed, "examples": [ex.id for ex in examples],
            "configs": configs, "record_wall_s": round(time.monotonic() - started, 1), "jobs": jobs,
            "engine_calls": int(table["engine_calls"].sum())}
    out.with_suffix(".json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return {"configs": len(configs), "examples": len(examples), "rows": len(table),
            "record_wall_s": meta["record_wall_s"], "engine_calls": meta["engine_calls"],
            "table": str(out.with_suffix(".csv.gz"))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", type=Path, default=HERE / "space.yaml")
    ap.add_argument("--dataset", default="arithmetic")
    ap.add_argument("--examples", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=HERE / "arithmetic")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                    help="processes, each with its own engine (default: up to 2)")
    args = ap.parse_args()
    print(json.dumps(record(args.space, args.dataset, args.examples, args.seed, args.out, args.jobs)))


if __name__ == "__main__":
    main()
