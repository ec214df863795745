"""Replaying recorded engine calls straight at fresh llama.cpp engines: the engines' own
throughput on exactly the work a run did. Used by engine_overhead.py and scaling.py.

Same work means, per call: the same messages and sampling, sent in the order the run sent
them, and exactly as many completion tokens as the run got (`max_tokens` = that count,
`ignore_eos`). Seeded sampling does not give the same text under a different batching, so a
free replay writes answers of other lengths, and one that happened to write shorter answers
would flatter the engine (seen: 55 s vs 75 s for the same 72 requests).
Same engines: as many as the run used, each with the run's CPU threads (env.json records them;
on 2 cores one 1-thread replica is a different engine from one 2-thread engine). Fresh ones for
every concurrency: llama.cpp keeps processed prompts in a RAM cache, so a second replay on a
used engine would skip most prompt processing.
Calls are the JSON lines of ARCHON_CALL_LOG (messages, sampling, start, completion_tokens).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cpu_steal import StealMeter

CONCURRENCIES = (1, 2, 4, 8)  # the engine has 4 slots; on 2 cores it saturates at 1-2 in flight


def read_call_log(path: Path) -> list[dict[str, Any]]:
    """The finished calls (lines with an `outcome` are attempts that were cut short or failed)."""
    calls = [c for line in path.read_text().splitlines() if line.strip() and "outcome" not in (c := json.loads(line))]
    return sorted(calls, key=lambda c: c["start"])  # the order they were sent


def same_work(call: dict[str, Any]) -> dict[str, Any]:
    """The request body that makes the engine do this call's work again."""
    return {"messages": call["messages"], **call["sampling"],
            "max_tokens": max(1, call["completion_tokens"]), "ignore_eos": True}


async def replay(urls: list[str], calls: list[dict[str, Any]], concurrency: int) -> dict[str, float]:
    """Every call once, call i to engine i mod len(urls), at most `concurrency` in flight;
    `started_at` is the wall-clock time (time.time()) the first call went out."""
    import httpx

    sem = asyncio.Semaphore(concurrency)
    totals = {"prompt_tokens": 0, "completion_tokens": 0, "cached_prompt_tokens": 0}

    async def one(client: httpx.AsyncClient, i: int, call: dict[str, Any]) -> None:
        async with sem:
            resp = await client.post(f"{urls[i % len(urls)]}/v1/chat/completions", json=same_work(call))
            resp.raise_for_status()
            usage = resp.json()["usage"]
            totals["prompt_tokens"] += usage["prompt_tokens"]
            totals["completion_tokens"] += usage["completion_tokens"]
            totals["cached_prompt_tokens"] += (usage.get("prompt_tokens_details") or {}).get("cached_tokens", 0)

    limits = httpx.Limits(max_connections=max(CONCURRENCIES) * 2)
    async with httpx.AsyncClient(timeout=300, limits=limits) as client:
        started_at, start = time.time(), time.perf_counter()
        await asyncio.gather(*(one(client, i, c) for i, c in enumerate(calls)))
        return {"wall_s": time.perf_counter() - start, "started_at": started_at, **totals}


def replay_on_fresh_engines(model: str, threads: list[int | None], calls: list[dict[str, Any]],
                            concurrency: int) -> dict[str, float]:
    """One fresh engine per entry of `threads` (its CPU threads; None: every core)."""
    import httpx

    from archon_cli.llm.engines.llamacpp import LlamaCppEngine, resolve_gguf

    engines = [LlamaCppEngine(resolve_gguf(model), threads=t) for t in threads]
    try:
        urls = [e.start() for e in engines]
        for url in urls:  # warm up, like the run's engines
            httpx.post(f"{url}/v1/chat/completions", timeout=120,
                       json={"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4, "temperature": 0.0})
        return asyncio.run(replay(urls, calls, concurrency))
    finally:
        for e in engines:
            e.stop()


def best_replay(model: str, threads: list[int | None], calls: list[dict[str, Any]],
                concurrencies: tuple[int, ...] = CONCURRENCIES, steal: StealMeter | None = None) -> dict[str, Any]:
    """Replay at every concurrency; the best wall time is the engines' saturated throughput.
    With a running `steal` meter, `direct_steal` is the CPU time stolen during the best replay."""
    by_c = {c: replay_on_fresh_engines(model, threads, calls, c) for c in concurrencies}
    best = min(by_c, key=lambda c: by_c[c]["wall_s"])
    r = by_c[best]
    return {"direct_engine_threads": threads, "direct_wall_s": round(r["wall_s"], 3), "direct_best_concurrency": best,
            "direct_wall_s_by_concurrency": {str(c): round(v["wall_s"], 3) for c, v in by_c.items()},
            "direct_prompt_tokens": r["prompt_tokens"], "direct_completion_tokens": r["completion_tokens"],
            "direct_cached_prompt_tokens": r["cached_prompt_tokens"],
            "direct_prompt_tok_s": round(r["prompt_tokens"] / r["wall_s"], 1),
            "direct_completion_tok_s": round(r["completion_tokens"] / r["wall_s"], 1)} | (
        {"direct_steal": steal.fraction(r["started_at"], r["started_at"] + r["wall_s"])} if steal else {})


def repeat_pairs(n: int, pair: Callable[[int, tuple[int, ...]], dict[str, Any]]) -> list[dict[str, Any]]:
    """`n` (run, replay) pairs, `pair(index, concurrencies)`: the first replays at every
    concurrency, the later ones only at the best of the first (its `direct_best_concurrency`)."""
    pairs = [pair(0, CONCURRENCIES)]
    best = (pairs[0]["direct_best_concurrency"],)
    return pairs + [pair(i, best) for i in range(1, n)]


def median_pair(pairs: list[dict[str, Any]]) -> dict[str, Any]:
    """The (run, replay) pair with the median overhead_ratio (the lower middle one for even counts)."""
    median = statistics.median_low(p["overhead_ratio"] for p in pairs)
    return next(p for p in pairs if p["overhead_ratio"] == median)
