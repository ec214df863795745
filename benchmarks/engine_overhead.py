"""Overhead of archon's executor + client over the bare engine, measured side by side.

1. The work of `archon eval` (in process, cache off, engine started and warmed up first) of one
   pipeline on N examples, every engine request recorded (ARCHON_CALL_LOG).
2. Exactly the same work replayed straight at the same kind of engine over HTTP (httpx) on a
   freshly started and warmed-up engine (see replay.py: same requests in the same order, same
   completion lengths). The first pair replays at every concurrency and keeps the best: the
   engine's own saturated throughput.
Pairs of (1, 2) repeat `--pairs` times, each replaying its own run's calls at that best
concurrency: on a shared 2-core VM the same work varies by 10-20% between minutes, so the
ratio reported is the median pair's (every pair is listed).
Run it on an idle machine: the engine uses every core.
Prints JSON: archon_wall_s, direct_wall_s, overhead_ratio = archon / direct, tokens, tokens/s.

    python benchmarks/engine_overhead.py [--pipeline configs/sample_rank_fuse.yaml] [--examples 12] [--pairs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from replay import best_replay, median_pair, read_call_log, repeat_pairs

if TYPE_CHECKING:
    from archon_cli.config.pipeline import PipelineSpec

ROOT = Path(__file__).resolve().parents[1]


def archon_run(spec: PipelineSpec, dataset: str,
               n_examples: int) -> tuple[float, list[dict[str, Any]], list[int | None]]:
    """Wall time of evaluating the pipeline (cache off) on a fresh, warmed engine; its calls; the
    engine's CPU threads."""
    from archon_cli.evaluate import evaluate
    from archon_cli.llm.client import LLMClient
    from archon_cli.llm.engines.manager import Engines
    from archon_cli.llm.types import Message, Request
    from archon_cli.pipeline import Pipeline
    from archon_cli.tasks.loading import load_task

    examples, scorer = load_task(dataset, None, limit=n_examples)
    engines = Engines()
    warm_up = Request(next(iter(spec.models)), (Message("user", "Hi"),), 0.0, 4)
    asyncio.run(LLMClient(spec.models, engines, None).complete(warm_up))  # start + warm up
    with tempfile.TemporaryDirectory() as tmp, engines:
        log = Path(tmp) / "calls.jsonl"
        run = evaluate(Pipeline(spec), examples, scorer, LLMClient(spec.models, engines, None, call_log=log))
        return run.wall_s, read_call_log(log), [e["threads"] for e in engines.describe()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pipeline", type=Path, default=ROOT / "configs/sample_rank_fuse.yaml")
    parser.add_argument("--dataset", default="arithmetic")
    parser.add_argument("--examples", type=int, default=12)
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args()

    from archon_cli.components.validate import load_pipeline

    spec = load_pipeline(args.pipeline)
    (model,) = {m.model for m in spec.models.values()}  # one local model: the replay starts that engine

    def pair(_: int, concurrencies: tuple[int, ...]) -> dict[str, Any]:
        wall, calls, threads = archon_run(spec, args.dataset, args.examples)
        direct = best_replay(model, threads, calls, concurrencies)
        prompt = sum(c["prompt_tokens"] for c in calls)
        completion = sum(c["completion_tokens"] for c in calls)
        return {
            "archon_wall_s": round(wall, 3), **direct, "overhead_ratio": round(wall / direct["direct_wall_s"], 3),
            "engine_calls": len(calls), "archon_prompt_tokens": prompt, "archon_completion_tokens": completion,
            "archon_prompt_tok_s": round(prompt / wall, 1), "archon_completion_tok_s": round(completion / wall, 1),
        }

    pairs = repeat_pairs(args.pairs, pair)
    headline = median_pair(pairs)
    print(json.dumps({"pipeline": spec.name, "examples": args.examples, **headline,
                      "overhead_ratio_by_pair": [p["overhead_ratio"] for p in pairs], "pairs": pairs}, indent=2))


if __name__ == "__main__":
    main()
