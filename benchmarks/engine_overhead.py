"""Overhead of archon's executor + client over the bare engine, measured side by side.

1. The work of `archon eval` (in process, cache off, engine started and warmed up first) of one
   pipeline on N examples, recording every engine request.
2. Exactly the same requests replayed straight at the same kind of engine over HTTP (httpx), at
   several concurrencies, each on a freshly started and warmed-up engine like archon's (llama.cpp
   keeps processed prompts in a RAM cache: replaying on a used engine would skip most prompt
   processing); the best wall time is the engine's own saturated throughput.
Run it on an idle machine: the engine uses every core.
Prints JSON: archon_wall_s, direct_wall_s, overhead_ratio = archon / direct, tokens, tokens/s.

    python benchmarks/engine_overhead.py [--pipeline configs/sample_rank_fuse.yaml] [--examples 12]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# The engine has 4 slots; on 2 cores it saturates at 1-2 requests in flight.
CONCURRENCIES = (1, 2, 4, 8)


async def replay(url: str, calls: list[Any], concurrency: int) -> tuple[float, int, int]:
    import httpx

    sem = asyncio.Semaphore(concurrency)
    prompt = completion = 0

    async def one(client: httpx.AsyncClient, call: Any) -> None:
        nonlocal prompt, completion
        async with sem:
            resp = await client.post(f"{url}/chat/completions", json={"messages": call.messages, **call.sampling})
            usage = resp.json()["usage"]
            prompt += usage["prompt_tokens"]
            completion += usage["completion_tokens"]

    async with httpx.AsyncClient(timeout=300) as client:
        start = time.perf_counter()
        await asyncio.gather(*(one(client, c) for c in calls))
        return time.perf_counter() - start, prompt, completion


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
    pipe = Pipeline(spec)
    examples, scorer = load_task(args.dataset, None, limit=args.examples)
    alias = next(iter(spec.models))
    warm_up = Request(alias, (Message("user", "Hi"),), 0.0, 4)

    def fresh_engine() -> tuple[Engines, str]:
        engines = Engines()
        asyncio.run(LLMClient(spec.models, engines, None).complete(warm_up))  # start + warm up
        (url,) = {str(e["url"]) for e in engines.describe()}
        return engines, url

    engines, _ = fresh_engine()
    with engines:
        client = LLMClient(spec.models, engines, None, record_engine_calls=True)
        run = evaluate(pipe, examples, scorer, client)
    calls = client.engine_calls
    direct = {}
    for c in CONCURRENCIES:
        engines, url = fresh_engine()
        with engines:
            direct[c] = asyncio.run(replay(f"{url}/v1", calls, c))
    best_c = min(direct, key=lambda c: direct[c][0])
    direct_wall, d_prompt, d_completion = direct[best_c]
    a_prompt = sum(c.prompt_tokens for c in calls)
    a_completion = sum(c.completion_tokens for c in calls)
    print(json.dumps({
        "pipeline": spec.name, "examples": len(examples), "engine_calls": len(calls),
        "archon_wall_s": round(run.wall_s, 3),
        "direct_wall_s": round(direct_wall, 3),
        "direct_best_concurrency": best_c,
        "direct_wall_s_by_concurrency": {c: round(v[0], 3) for c, v in direct.items()},
        "overhead_ratio": round(run.wall_s / direct_wall, 3),
        "archon_prompt_tokens": a_prompt, "archon_completion_tokens": a_completion,
        "direct_prompt_tokens": d_prompt, "direct_completion_tokens": d_completion,
        "archon_prompt_tok_s": round(a_prompt / run.wall_s, 1),
        "archon_completion_tok_s": round(a_completion / run.wall_s, 1),
        "direct_prompt_tok_s": round(d_prompt / direct_wall, 1),
        "direct_completion_tok_s": round(d_completion / direct_wall, 1),
    }, indent=2))


if __name__ == "__main__":
    main()
