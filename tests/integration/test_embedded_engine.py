"""The real embedded engine (SmolLM2-135M on llama.cpp): estimates, cache, lifecycle, CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from archon_cli.components.state import ExampleInput
from archon_cli.components.validate import parse_pipeline
from archon_cli.llm.cache import CompletionCache
from archon_cli.llm.client import LLMClient
from archon_cli.llm.engines.manager import Engines
from archon_cli.pipeline import Pipeline
from tests.processes import pids_with_environment

ROOT = Path(__file__).parents[2]
SMOL = {"s": {"model": "local/smollm2-135m"}}
GEN = {"type": "generator", "model": "s", "samples": 3, "max_tokens": 16}
SHORT = {"model": "s", "max_tokens": 12}

CASES: dict[str, list[list[dict[str, Any]]]] = {
    "ensemble+fuser": [[GEN, {"type": "generator", "model": "s", "temperature": 0.0, "max_tokens": 16}],
                       [{"type": "fuser", "samples": 2, **SHORT}]],
    "critic+ranker": [[GEN], [{"type": "critic", **SHORT}], [{"type": "ranker", "top_k": 2, **SHORT}]],
    "verifier": [[GEN], [{"type": "verifier", **SHORT}]],
    "unit_tests+vote": [[GEN], [{"type": "unit_test_generator", **SHORT}],
                        [{"type": "unit_test_evaluator", **SHORT}], [{"type": "majority_vote"}]],
}
EXAMPLES = [ExampleInput.from_prompt("a", "What is 3 + 4?"), ExampleInput.from_prompt("b", "What is 10 - 6?")]


def engine_calls(call_log: Path) -> list[str]:
    """The calls the client logged as sent to an engine (no file: none)."""
    lines = call_log.read_text().splitlines() if call_log.exists() else []
    return [line for line in lines if "\"outcome\"" not in line]  # attempts that did not finish


@pytest.mark.parametrize("case", sorted(CASES))
def test_estimate_equals_engine_calls_and_rerun_is_free(case: str, engines: Engines, tmp_path: Path) -> None:
    pipe = Pipeline(parse_pipeline({"name": case, "models": SMOL, "layers": CASES[case]}, case))
    estimate = pipe.estimate_calls()
    cache = CompletionCache(tmp_path / "cache.db")

    first = pipe.run(EXAMPLES, LLMClient(pipe.spec.models, engines, cache, call_log=tmp_path / "first.jsonl"))
    assert all(r.error is None and r.output for r in first)
    for r in first:
        assert r.usage.calls == estimate.calls
    # Every call asked for reached the engine, except identical requests in flight at once.
    dedup = sum(r.usage.cache_hits for r in first)
    assert len(engine_calls(tmp_path / "first.jsonl")) == estimate.calls * len(EXAMPLES) - dedup

    second = pipe.run(EXAMPLES, LLMClient(pipe.spec.models, engines, cache, call_log=tmp_path / "second.jsonl"))
    assert engine_calls(tmp_path / "second.jsonl") == []
    assert [r.output for r in second] == [r.output for r in first]


def test_dead_engine_is_restarted(engines: Engines, tmp_path: Path) -> None:
    pipe = Pipeline(parse_pipeline({"name": "g", "models": SMOL, "layers": [[GEN]]}, "g"))
    client = LLMClient(pipe.spec.models, engines, None)
    assert pipe.run(EXAMPLES[:1], client)[0].error is None
    for engine in engines.describe():
        os.kill(int(str(engine["pid"])), signal.SIGKILL)
    time.sleep(0.5)
    restarts = engines.restarts
    result = pipe.run(EXAMPLES[1:], client)[0]
    assert result.error is None
    assert engines.restarts == restarts + 1


def _archon(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "archon_cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, timeout=300)


def test_archon_run_answers_and_stops_its_engine(tmp_path: Path) -> None:
    marker = f"ARCHON_TEST_MARKER={uuid.uuid4()}"
    done = _archon("run", "configs/sample_rank_fuse.yaml", "--prompt", "What is 17 + 25?",
                   env={"ARCHON_CACHE_DIR": str(tmp_path), marker.split("=")[0]: marker.split("=")[1]})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    assert "calls 6 (engine 6, cache hits 0)" in " ".join(done.stderr.split())
    assert not pids_with_environment(marker)  # the engine it started is gone


def test_archon_eval_reports_accuracy_with_ci(tmp_path: Path) -> None:
    done = _archon("eval", "configs/single_model.yaml", "--dataset", "arithmetic", "--limit", "4",
                   env={"ARCHON_CACHE_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    out = " ".join(done.stdout.split())  # rich wraps lines at the terminal width
    assert "accuracy" in out and "95% CI" in out and "n=4" in out
    assert "per query: 1.0 calls" in out


def test_help_imports_no_heavy_module() -> None:
    code = ("import sys\nfrom archon_cli.cli.app import main\nmain(['--help'])\n"
            "print(sorted(m for m in ('litellm', 'openai', 'ray', 'optuna', 'pandas', 'xllamacpp', 'matplotlib') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.stdout.strip().endswith("[]"), done.stdout


def test_gpu_replica_on_a_cpu_only_build_fails_clearly() -> None:
    """`gpus_per_replica` > 0 on a local model needs an xllamacpp that sees a GPU; the PyPI wheel
    this machine has is CPU-only, so the engine must refuse with a reason, not serve on CPUs."""
    from archon_cli.config.pipeline import ModelSpec
    from archon_cli.errors import EngineError
    from archon_cli.llm.engines.manager import make_engine

    engine = make_engine(ModelSpec(model="local/smollm2-135m", gpus_per_replica=1))
    with pytest.raises(EngineError, match="sees no GPU"):
        engine.start()
    assert not engine.alive()


def test_threads_setting_and_a_private_engine_log_that_is_cleaned_up(isolated_cache: Path) -> None:
    from archon_cli.config.pipeline import ModelSpec
    from archon_cli.llm.engines.manager import make_engine

    engine = make_engine(ModelSpec(model="local/smollm2-135m", threads=1))
    engine.start()
    log = getattr(engine, "log_path", None)
    try:
        cmd = Path(f"/proc/{engine.pid()}/cmdline").read_bytes().split(b"\0")
        assert cmd[cmd.index(b"--threads") + 1] == b"1" and engine.threads == 1
        assert log is not None and log.parent == isolated_cache / "engine-logs"  # not the system temp dir
        assert log.stat().st_mode & 0o777 == 0o600
    finally:
        engine.stop()
    assert not log.exists()


def test_a_long_answer_outlasting_the_idle_timeout_is_not_cut(engines: Engines) -> None:
    """Streamed: the idle timeout (3 s) bounds the gap between tokens, not the whole answer."""
    import asyncio

    from archon_cli.config.pipeline import ModelSpec
    from archon_cli.llm.types import Message, Request

    client = LLMClient({"s": ModelSpec(model="local/smollm2-135m", idle_timeout_s=3.0)}, engines, None)
    req = Request("s", (Message("user", "Write a long story about a dragon, in ten paragraphs."),), 0.0, 256)
    done = asyncio.run(client.complete(req))
    assert done.completion_tokens == 256 and done.latency_s > 3.0
    assert client.failed_attempts == {}
