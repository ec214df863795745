"""`archon serve` through a real HTTP server on 127.0.0.1, driven by the openai SDK and httpx,
over the scripted fake LLM."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import httpx
import openai  # noqa: TID253 (a test is not on the CLI's start-up path)
import pytest

from archon_cli.serve.app import create_app
from archon_cli.serve.metrics import Metrics
from archon_cli.serve.ray_serve import ReplicaHeader
from archon_cli.serve.sampling import answer_layer, with_request_sampling
from archon_cli.serve.service import Limits
from archon_cli.serve.sources import shared_models
from tests.fakes import FakeLLM
from tests.unit.serve_helpers import FUSE, GEN, served
from tests.unit.serve_helpers import running_server as running

HI = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2 + 3?"}]


def sdk(url: str, key: str = "none") -> openai.OpenAI:
    return openai.OpenAI(base_url=url, api_key=key, max_retries=0, timeout=30)


def wait_for(cond: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def test_answer_usage_and_calls_are_the_whole_pipelines(fake_llm: type[FakeLLM]) -> None:
    with running([served()]) as srv:
        resp = sdk(srv.url).chat.completions.create(model="fused", messages=HI)  # type: ignore[arg-type]
    assert len(fake_llm.calls) == 3  # two samples and the fuser
    assert resp.choices[0].message.content == "answer 3: " + fake_llm.calls[2][0][-1]["content"][-40:]
    assert resp.choices[0].finish_reason == "stop"
    # Every call's prompt: the fake counts words; usage sums all three calls, not the last one.
    prompt_tokens = sum(sum(len(m["content"].split()) for m in msgs) for msgs, _ in fake_llm.calls)
    assert resp.usage is not None and resp.usage.prompt_tokens == prompt_tokens
    ext = resp.model_extra["archon"]  # type: ignore[index]
    assert ext["llm_calls"] == 3 and ext["engine_calls"] == 3 and ext["cache_hits"] == 0
    assert [c["layer"] for c in ext["calls"]] == [0, 0, 1]
    assert resp.usage.completion_tokens == sum(c["completion_tokens"] for c in ext["calls"])
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens
    # The system message and the conversation reached the generators.
    assert fake_llm.calls[0][0] == HI


def test_request_sampling_applies_to_the_answer_layer_only(fake_llm: type[FakeLLM]) -> None:
    with running([served()]) as srv:
        sdk(srv.url).chat.completions.create(model="fused", messages=HI, temperature=0.0,  # type: ignore[arg-type]
                                             max_tokens=7)
    gen, fuse = [s for _, s in fake_llm.calls[:2]], fake_llm.calls[2][1]
    assert all(s["temperature"] == 0.7 and s["max_tokens"] == 50 for s in gen)
    assert fuse["temperature"] == 0.0 and fuse["max_tokens"] == 7


def test_answer_layer_is_the_last_layer_that_writes_text() -> None:
    spec = served("x", [GEN], [FUSE], [{"type": "ranker", "model": "m", "top_k": 1}]).spec
    assert answer_layer(spec) == 1
    changed = with_request_sampling(spec, 0.2, 9)
    assert changed.layers[1][0].temperature == 0.2 and changed.layers[1][0].max_tokens == 9  # type: ignore[attr-defined]
    assert changed.layers[2][0] == spec.layers[2][0] and changed.layers[0][0] == spec.layers[0][0]


@pytest.mark.parametrize(("extra", "param"), [
    ({"n": 2}, "n"),
    ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}, "tools"),
    ({"response_format": {"type": "json_object"}}, "response_format"),
    ({"top_p": 0.5}, "top_p"),
    ({"temperature": 3}, "temperature"),
])
def test_unsupported_or_invalid_fields_are_400_in_openais_shape(fake_llm: type[FakeLLM], extra: dict[str, Any],
                                                                 param: str) -> None:
    with running([served()]) as srv:
        with pytest.raises(openai.BadRequestError) as err:
            sdk(srv.url).chat.completions.create(model="fused", messages=HI, **extra)  # type: ignore[arg-type]
        errors = srv.service.metrics
    assert err.value.status_code == 400
    body = err.value.body
    assert isinstance(body, dict) and body["param"] == param and body["type"] == "invalid_request_error"
    assert body["message"] and "code" in body
    assert fake_llm.calls == []
    assert errors.value("archon_serve_requests_total", model="", status="400") == 1


def test_unknown_model_is_404_and_models_are_listed(fake_llm: type[FakeLLM]) -> None:
    with running([served("a"), served("b")]) as srv:
        client = sdk(srv.url)
        assert sorted(m.id for m in client.models.list()) == ["a", "b"]
        with pytest.raises(openai.NotFoundError) as err:
            client.chat.completions.create(model="nope", messages=HI)  # type: ignore[arg-type]
    assert err.value.status_code == 404
    assert isinstance(err.value.body, dict) and err.value.body["code"] == "model_not_found"


def test_api_key_is_required_and_compared(fake_llm: type[FakeLLM]) -> None:
    with running([served()], api_key="s3cret-key") as srv:
        with pytest.raises(openai.AuthenticationError) as err:
            sdk(srv.url, "wrong").chat.completions.create(model="fused", messages=HI)  # type: ignore[arg-type]
        assert err.value.status_code == 401
        assert httpx.post(f"{srv.url}/chat/completions", json={"model": "fused", "messages": HI}).status_code == 401
        assert httpx.get(f"{srv.url}/models").status_code == 401
        assert httpx.get(f"{srv.root}/health").status_code == 200  # probes need no key
        ok = sdk(srv.url, "s3cret-key").chat.completions.create(model="fused", messages=HI)  # type: ignore[arg-type]
    assert ok.choices[0].message.content
    assert "s3cret-key" not in json.dumps(err.value.body)


def test_malformed_bodies_are_400_and_counted(fake_llm: type[FakeLLM]) -> None:
    with running([served()], Limits(max_body_bytes=2048, max_messages=3)) as srv:
        url = f"{srv.url}/chat/completions"
        bad_json = httpx.post(url, content=b'{"model": "fused", "messages": [',
                              headers={"content-type": "application/json"})
        not_object = httpx.post(url, json=[1, 2])
        no_user = httpx.post(url, json={"model": "fused", "messages": [{"role": "system", "content": "x"}]})
        tool_role = httpx.post(url, json={"model": "fused", "messages": [{"role": "tool", "content": "x"}]})
        too_many = httpx.post(url, json={"model": "fused", "messages": HI * 2})
        too_big = httpx.post(url, json={"model": "fused", "messages": [{"role": "user", "content": "x" * 5000}]})
        metrics = httpx.get(f"{srv.root}/metrics").text
    for resp in (bad_json, not_object, no_user, tool_role, too_many):
        assert resp.status_code == 400, resp.text
        assert set(resp.json()["error"]) == {"message", "type", "param", "code"}
    assert too_big.status_code == 413
    assert 'archon_serve_errors_total{kind="malformed_json"} 2' in metrics
    assert 'archon_serve_errors_total{kind="body_too_large"} 1' in metrics
    assert fake_llm.calls == []


def test_full_queue_is_429_with_retry_after(fake_llm: type[FakeLLM]) -> None:
    fake_llm.delay_s = 1.0
    with running([served()], Limits(max_queue=1)) as srv:
        first: dict[str, Any] = {}
        thread = threading.Thread(target=lambda: first.update(
            r=httpx.post(f"{srv.url}/chat/completions", json={"model": "fused", "messages": HI}, timeout=30)))
        thread.start()
        wait_for(lambda: srv.service.metrics.in_flight == 1)
        second = httpx.post(f"{srv.url}/chat/completions", json={"model": "fused", "messages": HI})
        with pytest.raises(openai.RateLimitError):
            sdk(srv.url).chat.completions.create(model="fused", messages=HI)  # type: ignore[arg-type]
        thread.join(30)
    assert second.status_code == 429
    assert int(second.headers["retry-after"]) >= 1
    assert second.json()["error"]["code"] == "queue_full"
    assert first["r"].status_code == 200


def test_client_that_disconnects_cancels_its_work(fake_llm: type[FakeLLM]) -> None:
    fake_llm.delay_s = 3.0
    with running([served()]) as srv:
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(f"{srv.url}/chat/completions", json={"model": "fused", "messages": HI}, timeout=0.5)
        metrics = srv.service.metrics
        wait_for(lambda: metrics.value("archon_serve_errors_total", kind="client_disconnected") == 1)
        wait_for(lambda: metrics.in_flight == 0)
        assert fake_llm.cancelled == 2  # both generator samples were waiting on the engine
        fake_llm.delay_s = 0.0
        ok = sdk(srv.url).chat.completions.create(model="fused", messages=HI)  # type: ignore[arg-type]
    assert ok.choices[0].message.content
    assert len(fake_llm.calls) == 3  # only the second request's calls completed


def test_stream_is_accepted_by_the_sdk(fake_llm: type[FakeLLM]) -> None:
    with running([served()]) as srv:
        client = sdk(srv.url)
        chunks = list(client.chat.completions.create(model="fused", messages=HI, stream=True,  # type: ignore[call-overload]
                                                     stream_options={"include_usage": True}))
        raw = httpx.post(f"{srv.url}/chat/completions", json={"model": "fused", "messages": HI, "stream": True})
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "answer 3: " + fake_llm.calls[2][0][-1]["content"][-40:]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens > 0
    assert raw.headers["content-type"].startswith("text/event-stream")
    events = [line for line in raw.text.split("\n\n") if line]
    assert events[-1] == "data: [DONE]"
    assert all(e.startswith("data: ") for e in events)


def test_stream_of_a_failed_pipeline_ends_with_an_error_event(fake_llm: type[FakeLLM]) -> None:
    fake_llm.fail_next = 100  # every retry fails
    with running([served()]) as srv, pytest.raises(openai.APIError) as err:
        list(sdk(srv.url).chat.completions.create(model="fused", messages=HI, stream=True))  # type: ignore[call-overload]
    assert "pipeline failed" in str(err.value)


def test_failed_pipeline_is_502_not_500(fake_llm: type[FakeLLM], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("archon_cli.llm.client.BACKOFF_S", 0.0)
    fake_llm.fail_next = 100
    with running([served()]) as srv:
        resp = httpx.post(f"{srv.url}/chat/completions", json={"model": "fused", "messages": HI}, timeout=30)
    assert resp.status_code == 502
    assert resp.json()["error"]["code"] == "pipeline_failed"


def test_conflicting_aliases_are_renamed_per_pipeline() -> None:
    a = served("a")
    b_data = served("b")
    b = b_data.__class__("b", b_data.spec.model_copy(update={"models": {"m": b_data.spec.models["m"].model_copy(
        update={"model": "fake/other"})}}), "test")
    models, (sa, sb) = shared_models([a, b])
    assert models["m"].model == "fake/scripted" and models["b.m"].model == "fake/other"
    assert sa is a and all(c.model == "b.m" for layer in sb.spec.layers for c in layer)  # type: ignore[attr-defined]


def test_metrics_text_format() -> None:
    m = Metrics()
    m.inc("archon_serve_errors_total", kind='we"ird')
    m.observe_latency(0.3, model="a")
    m.observe_latency(7.0, model="a")
    text = m.render()
    assert 'archon_serve_errors_total{kind="we\\"ird"} 1' in text
    assert 'archon_serve_request_seconds_bucket{model="a",le="0.5"} 1' in text
    assert 'archon_serve_request_seconds_bucket{model="a",le="+Inf"} 2' in text
    assert 'archon_serve_request_seconds_count{model="a"} 2' in text
    assert "# TYPE archon_serve_request_seconds histogram" in text


def test_ray_serve_replicas_name_themselves_in_every_response(fake_llm: type[FakeLLM]) -> None:
    async def ask(app: Any) -> tuple[httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://replica") as client:
            health = await client.get("/health")
            stream = await client.post("/v1/chat/completions", json={"model": "fused", "messages": HI, "stream": True})
        return health, stream

    with running([served()]) as srv:  # its service, under the app as a Serve replica builds it
        app = create_app(srv.service)
        app.add_middleware(ReplicaHeader, replica="r1")
        health, stream = asyncio.run(ask(app))
    assert health.status_code == 200 and health.headers["x-archon-replica"] == "r1"
    assert stream.headers["x-archon-replica"] == "r1" and stream.text.endswith("data: [DONE]\n\n")
