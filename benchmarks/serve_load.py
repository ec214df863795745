"""`archon serve` under load, printed as JSON.

Phase 1 (overhead): 32 concurrent clients send the 32 arithmetic prompts of `archon eval
--dataset arithmetic --limit 32` to a fresh `archon serve --no-cache` of the same pipeline, against
that eval itself (`--no-cache`), same embedded engine, in interleaved pairs (the order alternates).
serve wall = first request sent → last answer received (the server started its engine before);
eval wall = what eval reports, which includes starting its engine on the first call, so the
engine's start time, measured separately per pair, is also reported and subtracted in
`serve_overhead_ratio_engine_start_excluded`. A fresh server per pair: llama.cpp keeps processed
prompts in RAM, so a reused engine would get the later runs cheaper than eval's fresh one.

Phase 2 (abuse): 200 requests, 32 at a time, to a fresh server with its own cache: 10% malformed
bodies (broken JSON, wrong fields), 5% clients that hang up 0.5 s into their request (prompts of
their own, so nothing is cached for them), the rest the 32 prompts (or the first
`--phase2-prompts`) again and again. Checked: the server stays up, every valid request gets a 200
with an answer, /metrics counts the errors.

The pipeline is a small copy of sample_rank_fuse (2 samples, short answers) so a run takes
seconds to minutes on 2 shared cores. Run: PYTHONPATH=. python benchmarks/serve_load.py [--pairs 3]
[--samples 2] [--max-tokens 16] [--phase2-prompts 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cpu_steal import StealMeter

ROOT = Path(__file__).resolve().parents[1]
N_PROMPTS = 32
PIPELINE = """\
name: serve-load
models:
  smol: {{model: local/smollm2-135m}}
layers:
  - [{{type: generator, model: smol, samples: {samples}, temperature: 0.7, max_tokens: {max_tokens}}}]
  - [{{type: fuser, model: smol, max_tokens: {max_tokens}}}]
"""


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().strip()


def prompts() -> list[str]:
    from archon_cli.tasks.loading import load_examples

    examples, _ = load_examples("arithmetic", limit=N_PROMPTS, seed=0)
    return [ex.input for ex in examples]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(cache_dir: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "ARCHON_CACHE_DIR": str(cache_dir)}


class ServerProcess:
    def __init__(self, pipeline: Path, tmp: Path, *extra: str) -> None:
        import httpx

        self.port = free_port()
        self.root = f"http://127.0.0.1:{self.port}"
        self.stderr = (tmp / f"serve-{self.port}.log").open("w")
        self.proc = subprocess.Popen([sys.executable, "-m", "archon_cli", "serve", str(pipeline), "--port",
                                      str(self.port), "--max-queue", "256", *extra], cwd=ROOT,
                                     env=env_for(tmp / "cache"), stdout=subprocess.DEVNULL, stderr=self.stderr)
        deadline = time.monotonic() + 180
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"archon serve exited {self.proc.returncode}")
            try:
                if httpx.get(f"{self.root}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("archon serve did not come up")
            time.sleep(0.5)

    def alive(self) -> bool:
        import httpx

        try:
            return self.proc.poll() is None and httpx.get(f"{self.root}/health", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=120)
        self.stderr.close()
        return code


def body(prompt: str) -> dict[str, Any]:
    return {"model": "serve-load", "messages": [{"role": "user", "content": prompt}]}


async def send_all(root: str, requests: list[tuple[str, Any]], concurrency: int) -> list[dict[str, Any]]:
    """Each request: ("valid", body) | ("malformed", raw bytes) | ("disconnect", body)."""
    import httpx

    sem = asyncio.Semaphore(concurrency)
    url = f"{root}/v1/chat/completions"

    async def one(client: httpx.AsyncClient, kind: str, payload: Any) -> dict[str, Any]:
        async with sem:
            start = time.perf_counter()
            try:
                if kind == "malformed":
                    resp = await client.post(url, content=payload, headers={"content-type": "application/json"})
                else:
                    resp = await client.post(url, json=payload, timeout=0.5 if kind == "disconnect" else 3600)
            except httpx.TimeoutException:
                return {"kind": kind, "status": None, "latency_s": time.perf_counter() - start}
            answer = resp.json().get("choices", [{}])[0].get("message", {}).get("content") if resp.is_success else None
            return {"kind": kind, "status": resp.status_code, "latency_s": time.perf_counter() - start,
                    "answered": bool(answer and answer.strip())}

    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2)
    async with httpx.AsyncClient(timeout=3600, limits=limits) as client:
        return await asyncio.gather(*(one(client, k, p) for k, p in requests))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def serve_run(pipeline: Path, tmp: Path, texts: list[str], steal: StealMeter) -> dict[str, Any]:
    server = ServerProcess(pipeline, tmp, "--no-cache")
    try:
        t0, start = time.time(), time.perf_counter()
        results = asyncio.run(send_all(server.root, [("valid", body(t)) for t in texts], len(texts)))
        wall = time.perf_counter() - start
        t1 = time.time()
    finally:
        server.stop()
    latencies = [r["latency_s"] for r in results]
    errors = sum(1 for r in results if r["status"] != 200 or not r["answered"])
    return {"wall_s": round(wall, 2), "p50_s": round(statistics.median(latencies), 2),
            "p95_s": round(percentile(latencies, 0.95), 2), "errors": errors,
            "steal": steal.fraction(t0, t1), "loadavg": loadavg()}


def eval_run(pipeline: Path, tmp: Path, steal: StealMeter) -> dict[str, Any]:
    t0 = time.time()
    done = subprocess.run([sys.executable, "-m", "archon_cli", "eval", str(pipeline), "--dataset", "arithmetic",
                           "--limit", str(N_PROMPTS), "--no-cache"], cwd=ROOT, env=env_for(tmp / "cache"),
                          capture_output=True, text=True, timeout=1800)
    if done.returncode != 0 or not (m := re.search(r"wall (\d+(?:\.\d+)?)s", done.stdout)):
        raise RuntimeError(f"archon eval failed: {done.stdout[-500:]} {done.stderr[-500:]}")
    failed = re.search(r"(\d+) examples failed", done.stdout)
    return {"wall_s": float(m.group(1)), "errors": int(failed.group(1)) if failed else 0,
            "steal": steal.fraction(t0, time.time()), "loadavg": loadavg()}


def engine_start_s() -> float:
    from archon_cli.llm.engines.llamacpp import LlamaCppEngine, resolve_gguf

    engine = LlamaCppEngine(resolve_gguf("local/smollm2-135m"))
    start = time.perf_counter()
    try:
        engine.start()
        return round(time.perf_counter() - start, 2)
    finally:
        engine.stop()


def spread(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3)}


def phase1(pipeline: Path, tmp: Path, texts: list[str], pairs: int, steal: StealMeter) -> dict[str, Any]:
    rows = []
    for i in range(pairs):
        start = engine_start_s()
        if i % 2 == 0:
            serve, ev = serve_run(pipeline, tmp, texts, steal), eval_run(pipeline, tmp, steal)
        else:
            ev, serve = eval_run(pipeline, tmp, steal), serve_run(pipeline, tmp, texts, steal)
        print(json.dumps({"pair": i, "serve": serve, "eval": ev, "engine_start_s": start}), file=sys.stderr, flush=True)
        rows.append({"pair": i, "order": "serve,eval" if i % 2 == 0 else "eval,serve", "serve": serve, "eval": ev,
                     "engine_start_s": start, "ratio": round(serve["wall_s"] / ev["wall_s"], 3),
                     "ratio_engine_start_excluded": round(serve["wall_s"] / (ev["wall_s"] - start), 3)})
    ratios = [r["ratio"] for r in rows]
    return {"pairs": rows, "serve_overhead_ratio": spread(ratios),
            "serve_overhead_ratio_engine_start_excluded": spread([r["ratio_engine_start_excluded"] for r in rows]),
            "target": 1.15, "target_met": statistics.median(ratios) <= 1.15,
            "serve_p50_s": spread([r["serve"]["p50_s"] for r in rows]),
            "serve_p95_s": spread([r["serve"]["p95_s"] for r in rows]),
            "errors": sum(r["serve"]["errors"] + r["eval"]["errors"] for r in rows)}


MALFORMED = [b'{"model": "serve-load", "messages": [', b"not json at all", b'{"model": "serve-load"}',
             b'{"model": "serve-load", "messages": [{"role": "user", "content": "hi"}], "n": 2}',
             b'{"model": "serve-load", "messages": "hi"}']


def metric(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(f"{name}{{{want}}} ") or (not labels and line.startswith(f"{name} ")):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def phase2(pipeline: Path, tmp: Path, texts: list[str]) -> dict[str, Any]:
    import httpx

    requests: list[tuple[str, Any]] = []
    for i in range(200):
        if i % 10 == 0:
            requests.append(("malformed", MALFORMED[(i // 10) % len(MALFORMED)]))
        elif i % 20 == 5:
            requests.append(("disconnect", body(f"What is {1000 + i} + {i}?")))
        else:
            requests.append(("valid", body(texts[i % len(texts)])))
    phase_tmp = tmp / "phase2"
    phase_tmp.mkdir()
    server = ServerProcess(pipeline, phase_tmp)
    try:
        start = time.perf_counter()
        results = asyncio.run(send_all(server.root, requests, 32))
        wall = time.perf_counter() - start
        time.sleep(1.0)  # the last hang-ups reach the server
        metrics = httpx.get(f"{server.root}/metrics", timeout=10).text
        alive = server.alive()
    finally:
        exit_code = server.stop()
    valid = [r for r in results if r["kind"] == "valid"]
    malformed = [r for r in results if r["kind"] == "malformed"]
    counted = {k: metric(metrics, "archon_serve_errors_total", kind=k)
               for k in ("malformed_json", "invalid_request", "unsupported", "client_disconnected")}
    return {
        "distinct_valid_prompts": len(texts), "requests": len(results), "valid": len(valid),
        "malformed": len(malformed),
        "disconnecting": sum(1 for r in results if r["kind"] == "disconnect"),
        "valid_answered": sum(1 for r in valid if r["status"] == 200 and r["answered"]),
        "malformed_got_400": sum(1 for r in malformed if r["status"] == 400),
        "server_alive_after": alive, "server_exit_code": exit_code, "wall_s": round(wall, 2),
        "valid_p50_s": round(statistics.median(r["latency_s"] for r in valid), 2),
        "valid_p95_s": round(percentile([r["latency_s"] for r in valid], 0.95), 2),
        "metrics_errors": counted,
        "metrics_engine_calls": metric(metrics, "archon_serve_engine_calls_total", model="serve-load"),
        "metrics_cache_hits": metric(metrics, "archon_serve_cache_hits_total", model="serve-load"),
        "loadavg": loadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=2, help="generator samples of the benchmark pipeline")
    parser.add_argument("--max-tokens", type=int, default=16, help="max_tokens of its generator and fuser")
    parser.add_argument("--skip-phase1", action="store_true")
    parser.add_argument("--phase2-prompts", type=int, default=N_PROMPTS,
                        help="distinct prompts the valid phase-2 requests cycle through (fewer: shorter on a busy box)")
    args = parser.parse_args()
    texts = prompts()
    with tempfile.TemporaryDirectory(prefix="serve-load-") as d, StealMeter() as steal:
        tmp = Path(d)
        pipeline = tmp / "serve-load.yaml"
        text = PIPELINE.format(samples=args.samples, max_tokens=args.max_tokens)
        pipeline.write_text(text)
        out: dict[str, Any] = {"pipeline": text, "loadavg_start": loadavg(), "cpus": os.cpu_count()}
        if not args.skip_phase1:
            out["phase1"] = phase1(pipeline, tmp, texts, args.pairs, steal)
        out["phase2"] = phase2(pipeline, tmp, texts[:args.phase2_prompts])
        out["loadavg_end"] = loadavg()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
