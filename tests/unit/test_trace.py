"""Pipeline traces: `archon run/eval --trace/--trace-file` and a search's trials/NNNN/trace.jsonl,
on the scripted fake LLM (registered through the real provider registry)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from archon_cli.cli.app import main
from archon_cli.cli.trace_view import render_trace
from archon_cli.components.state import Candidate, ExampleInput, Notes
from archon_cli.components.validate import load_pipeline
from archon_cli.llm.session import open_client
from archon_cli.pipeline import Pipeline
from archon_cli.trace import ComponentTrace, LayerTrace, TraceRecorder
from tests.conftest import fake_pipeline
from tests.fakes import FakeLLM
from tests.search_helpers import only_run, search_config

SAMPLES = ["12 + 7 = 19", "12 + 7 = 9", "12 + 7 = 20"]
CRITIQUES = ["Right: twelve plus seven is nineteen.", "Wrong: the sum is not nine.", "Wrong: off by one."]
FUSED = "The single best answer to the question is: 12 + 7 = 19"


def respond(messages: list[dict[str, str]], sampling: dict[str, Any]) -> str:
    text = messages[-1]["content"]
    if "strengths and weaknesses" in text:
        return json.dumps({"critiques": CRITIQUES})
    if "Rank the" in text:
        return "[3] > [1] > [2]"
    if "Write the single best answer" in text:
        return FUSED
    return SAMPLES[sampling["seed"] % 3]


ARCHON = fake_pipeline([{"type": "generator", "model": "m", "samples": 3, "temperature": 0.7}],
                       [{"type": "critic", "model": "m"}], [{"type": "ranker", "model": "m", "top_k": 2}],
                       [{"type": "fuser", "model": "m"}])


@pytest.fixture
def pipe(tmp_path: Path, fake_llm: type[FakeLLM]) -> Path:
    fake_llm.reset(respond)
    path = tmp_path / "archon.yaml"
    path.write_text(yaml.safe_dump(ARCHON))
    return path


def test_run_trace_shows_every_layer_in_the_terminal_and_the_jsonl(pipe: Path, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "trace.jsonl"
    assert main(["run", str(pipe), "-p", "What is 12 + 7?", "--trace", "--trace-file", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == FUSED  # the answer alone on stdout; the trace on stderr
    err = captured.err
    for text in [*SAMPLES, *CRITIQUES, FUSED, "ranking: [3] > [1] > [2], top 2 kept", "query: What is 12 + 7?"]:
        assert text in err, text
    layers = [line for line in err.splitlines() if line.strip().startswith("layer ")]
    assert layers == [f"  layer {i}" for i in range(4)]
    assert "[/" not in err and "[bold" not in err  # plain text, no rich markup
    assert "ranker L2.0 · 1 call\n      ranking: [3] > [1] > [2], top 2 kept\n      [1] same as layer 1 [3]\n" in err
    # Each component's block is indented under its layer, its candidates under the component.
    assert "\n    critic L1.0 · 1 call\n      [1] same text as layer 0 [1]\n          critique: " + CRITIQUES[0] in err

    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["example"], r["layer"]) for r in records] == [("prompt", i) for i in range(4)]
    gen, critic, ranker, fuser = (r["components"][0] for r in records)
    assert [c["text"] for c in gen["candidates"]] == SAMPLES and len(gen["calls"]) == 3
    assert [c["critique"] for c in critic["candidates"]] == CRITIQUES
    assert ranker["details"] == {"ranking": [3, 1, 2], "kept": 2}
    assert [c["text"] for c in ranker["candidates"]] == [SAMPLES[2], SAMPLES[0]]
    assert [c["text"] for c in fuser["candidates"]] == [FUSED] and records[3]["output"] == [{"text": FUSED}]
    # The LLM call of a step: what was sent and what came back.
    call = ranker["calls"][0]
    assert call["model"] == "m" and "Rank the 3 answers" in call["messages"][-1]["content"]
    assert call["response"] == "[3] > [1] > [2]" and call["cached"] is False
    assert records[0]["query"] == "What is 12 + 7?" and records[1]["query"] is None


def test_the_terminal_trace_never_wraps_inside_a_word() -> None:
    long = "supercalifragilistic " * 12 + "x" * 70  # one word longer than the line
    rec = LayerTrace("q", 0, (ComponentTrace("L0.0.generator", "generator", (Candidate(long, critique=long),)),),
                     (Candidate(long),), query=long)
    text = render_trace([rec], width=50)
    words = set(long.split())
    for line in text.splitlines():
        for word in line.split():
            assert word in words or not word.startswith(("super", "xx")), line
    assert "x" * 70 in text
    assert all(len(line) <= 50 for line in text.splitlines() if "x" * 70 not in line)


def test_eval_trace_file_has_one_record_per_example_per_layer(pipe: Path, tmp_path: Path) -> None:
    out = tmp_path / "trace.jsonl"
    assert main(["eval", str(pipe), "--dataset", "arithmetic", "--limit", "3", "--trace-file", str(out)]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 3 * 4
    examples = list(dict.fromkeys(r["example"] for r in records))
    assert len(examples) == 3
    assert [(r["example"], r["layer"]) for r in records] == [(ex, li) for ex in examples for li in range(4)]
    assert all(r["components"][0]["type"] == t for r, t in
               zip(records, ["generator", "critic", "ranker", "fuser"] * 3, strict=True))


def test_tracing_off_writes_and_prints_nothing(pipe: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    before = set(tmp_path.rglob("*"))
    assert main(["run", str(pipe), "-p", "What is 12 + 7?"]) == 0
    err = capsys.readouterr().err
    assert "layer" not in err and CRITIQUES[0] not in err
    assert main(["eval", str(pipe), "--dataset", "arithmetic", "--limit", "2"]) == 0
    assert "layer 0" not in capsys.readouterr().err
    assert not [p for p in set(tmp_path.rglob("*")) - before if "trace" in p.name]


def test_without_a_tracer_nothing_is_kept_and_the_answer_is_the_same(pipe: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[Notes] = []

    class Spy(Notes):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            made.append(self)

    monkeypatch.setattr("archon_cli.pipeline.Notes", Spy)
    spec = load_pipeline(pipe)
    seen: list[LayerTrace] = []
    with open_client(spec.models) as client:
        plain = Pipeline(spec).run([ExampleInput.from_prompt("a", "What is 12 + 7?")], client)
        assert len(made) == 4 and all(not n.keep_details and not n.details for n in made)
        traced = Pipeline(spec).run([ExampleInput.from_prompt("a", "What is 12 + 7?")], client, tracer=seen.append)
    assert plain[0].output == traced[0].output == FUSED
    assert len(seen) == 4 and seen[2].components[0].details["ranking"] == [3, 1, 2]
    assert all(c["cached"] for r in seen for comp in r.components for c in comp.calls)  # the second run hit the cache


def test_a_failed_example_traces_the_layer_that_failed(pipe: Path, fake_llm: type[FakeLLM],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from archon_cli.llm.providers.base import TransientError

    monkeypatch.setattr("archon_cli.llm.client.BACKOFF_S", 0.001)

    def fail_ranker(messages: list[dict[str, str]], sampling: dict[str, Any]) -> str:
        if "Rank the" in messages[-1]["content"]:
            raise TransientError("fake: 500")
        return respond(messages, sampling)

    fake_llm.reset(fail_ranker)
    spec = load_pipeline(pipe)
    recorder = TraceRecorder()
    with open_client(spec.models, use_cache=False) as client:
        (result,) = Pipeline(spec).run([ExampleInput.from_prompt("a", "What is 12 + 7?")], client, tracer=recorder)
    records = recorder.records(["a"])
    assert [(r.layer, r.error is None) for r in records] == [(0, True), (1, True), (2, False)]
    assert records[2].error == result.error and "failed after" in (result.error or "")
    text = render_trace(records)
    assert "failed: " in text and "no answer: layer 2 failed" in text


def test_search_with_trace_writes_each_trials_trace(tmp_path: Path, fake_llm: type[FakeLLM]) -> None:
    cfg = search_config(tmp_path, trials=2, search_size=3, trace=True)
    assert main(["search", str(cfg), "--no-verdict"]) == 0
    run = only_run(tmp_path)
    traces = sorted(run.glob("trials/*/trace.jsonl"))
    assert traces, list(run.glob("trials/*/*"))
    for path in traces:
        records = [json.loads(line) for line in path.read_text().splitlines()]
        n_layers = len(yaml.safe_load((path.parent / "pipeline.yaml").read_text())["layers"])
        assert len(records) == 3 * n_layers
        assert all(r["components"] and r["output"] for r in records)


def test_search_trace_flag_and_default_off(tmp_path: Path, fake_llm: type[FakeLLM]) -> None:
    cfg = search_config(tmp_path, trials=1, search_size=2)
    assert main(["search", str(cfg), "--no-verdict"]) == 0
    assert not list(only_run(tmp_path).glob("trials/*/trace.jsonl"))
    other = tmp_path / "again"
    other.mkdir()
    cfg = search_config(other, trials=1, search_size=2)
    assert main(["search", str(cfg), "--no-verdict", "--trace"]) == 0
    assert list(only_run(other).glob("trials/*/trace.jsonl"))


def test_verdicts_scores_and_votes_are_traced(tmp_path: Path, fake_llm: type[FakeLLM],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    def judge(messages: list[dict[str, str]], sampling: dict[str, Any]) -> str:
        text = messages[-1]["content"]
        if "Yes or No" in text:
            return "Yes" if "= 9" not in messages[-3]["content"] else "No"
        if "from 1 (surely wrong)" in text:
            return "9" if "= 19" in text else "2"
        if "step by step" in text:
            return "Let me check."
        return respond(messages, sampling)

    fake_llm.reset(judge)
    path = tmp_path / "verify.yaml"
    path.write_text(yaml.safe_dump(fake_pipeline(
        [{"type": "generator", "model": "m", "samples": 3, "temperature": 0.7}],
        [{"type": "verifier", "model": "m"}], [{"type": "weighted_vote", "model": "m"}], [{"type": "majority_vote"}])))
    out = tmp_path / "trace.jsonl"
    assert main(["run", str(path), "-p", "What is 12 + 7?", "--trace", "--trace-file", str(out)]) == 0
    details = [json.loads(line)["components"][0]["details"] for line in out.read_text().splitlines()]
    assert details[1] == {"verdicts": [True, False, True]}
    assert details[2] == {"scores": [9.0, 2.0], "ranking": [1, 2]}
    assert details[3]["answers"] == ["19", "20"] and details[3]["ranking"] == [1, 2]
    err = capsys.readouterr().err
    assert "verdicts: [1] correct · [2] wrong · [3] correct" in err and "scores: [1] 9 · [2] 2" in err
    assert "answer: 12 + 7 = 19" in err
