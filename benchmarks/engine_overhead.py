"""Overhead of archon's executor + client over the bare engine, measured side by side.

1. The work of `archon eval` (in process, cache off, engine started and warmed up first) of one
   pipeline on N examples, every engine request recorded (ARCHON_CALL_LOG).
2. Exactly the same work replayed straight at the same kind of engine over HTTP (httpx), at
   several concurrencies, each on a freshly started and warmed-up engine (see replay.py: same
   requests in the same order, same completion lengths); the best wall time is the engine's own
   saturated throughput.
Run it on an idle machine: the engine uses every core.
Prints JSON: archon_wall_s, direct_wall_s, overhead_ratio = archon / direct, tokens, tokens/s.

    python benchmarks/engine_overhead.py [--pipeline configs/sample_rank_fuse.yaml] [--examples 12]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path

from replay import best_replay, read_call_log

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pipeline", type=Path, default=ROOT / "configs/sample_rank_fuse.yaml")
    parser.add_argument("--dataset", default="arithmetic")
    parser.add_argument("--examples", type=int, default=12)
    args = parser.parse_args()

    from archon_cli.components.state import Message, Request
    from archon_cli.config.pipeline import load_pipeline
    from archon_cli.evaluate import evaluate
    from archon_cli.llm.client import LLMClient
    from archon_cli.llm.engines.manager import Engines
    from archon_cli.pipeline import Pipeline
    from archon_cli.tasks.loading import load_task

    spec = load_pipeline(args.pipeline)
    (model,) = {m.model for m in spec.models.values()}  # one local model: the replay starts that engine
    examples, scorer = load_task(args.dataset, None, limit=args.examples)
    engines = Engines()
    warm_up = Request(next(iter(spec.models)), (Message("user", "Hi"),), 0.0, 4)
    asyncio.run(LLMClient(spec.models, engines, None).complete(warm_up))  # start + warm up
    with tempfile.TemporaryDirectory() as tmp, engines:
        log = Path(tmp) / "calls.jsonl"
        run = evaluate(Pipeline(spec), examples, scorer, LLMClient(spec.models, engines, None, call_log=log))
        calls = read_call_log(log)
        threads = [e["threads"] for e in engines.describe()]
    direct = best_replay(model, threads, calls)
    prompt = sum(c["prompt_tokens"] for c in calls)
    completion = sum(c["completion_tokens"] for c in calls)
    print(json.dumps({
        "pipeline": spec.name, "examples": len(examples), "engine_calls": len(calls),
        "archon_wall_s": round(run.wall_s, 3),
        **direct,
        "overhead_ratio": round(run.wall_s / direct["direct_wall_s"], 3),
        "archon_prompt_tokens": prompt, "archon_completion_tokens": completion,
        "archon_prompt_tok_s": round(prompt / run.wall_s, 1),
        "archon_completion_tok_s": round(completion / run.wall_s, 1),
    }, indent=2))


if __name__ == "__main__":
    main()
