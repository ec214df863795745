"""Hosted APIs fail fast: a missing key is exit 2 naming the variable before any call; a wrong
key, a denied permission, an unknown model or a bad request is called once, never retried; a
rate limit's Retry-After sets the wait, within the call's deadline. No network: litellm's
`acompletion` is replaced by a script raising litellm's own exception types."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from archon_cli.cli.app import main
from archon_cli.config.pipeline import ModelSpec
from archon_cli.errors import LLMCallError
from archon_cli.llm import client as client_module
from archon_cli.llm.client import LLMClient
from archon_cli.llm.credentials import KEY_VARIABLES, credential_problems
from archon_cli.llm.engines.manager import EngineSource
from archon_cli.llm.providers.base import retry_after_s
from archon_cli.llm.providers.litellm_provider import import_litellm
from archon_cli.llm.types import Message, Request
from archon_cli.redact import SECRET_ENV
from tests.conftest import fake_pipeline
from tests.fakes import FakeLLM
from tests.search_helpers import search_config

ROOT = Path(__file__).resolve().parents[2]
HOSTED = {"m": {"model": "openai/gpt-4o-mini"}}


@pytest.fixture
def no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if SECRET_ENV.search(name) or name.startswith(("OPENAI", "ANTHROPIC")):
            monkeypatch.delenv(name)


def _pipeline(tmp_path: Path, models: dict[str, Any] = HOSTED) -> Path:
    path = tmp_path / "hosted.yaml"
    path.write_text(yaml.safe_dump({"name": "hosted", "models": models,
                                    "layers": [[{"type": "generator", "model": "m"}]]}))
    return path


def _dataset(tmp_path: Path) -> Path:
    path = tmp_path / "qa.jsonl"
    path.write_text('{"id": "1", "input": "2+2?", "answer": "4"}\n{"id": "2", "input": "3+3?", "answer": "6"}\n')
    return path


# --- 1. a missing key: exit 2 naming the variable, zero calls, well under 2 s -------------------

def test_a_hosted_model_without_its_key_is_exit_2_in_under_2_s_with_no_call(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not (SECRET_ENV.search(k) or k.startswith("OPENAI"))}
    log = tmp_path / "calls.jsonl"
    env |= {"ARCHON_CALL_LOG": str(log), "ARCHON_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "archon_cli", "eval", str(_pipeline(tmp_path)),
                           "--dataset", str(_dataset(tmp_path))],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    elapsed = time.perf_counter() - start
    assert done.returncode == 2, done.stderr
    assert "OPENAI_API_KEY is not set" in done.stderr and "models.m (openai/gpt-4o-mini)" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert elapsed < 2.0, f"{elapsed:.2f} s"
    assert not log.exists()  # not one attempt was made, so none was retried


class CountingCompletion:
    """Stands in for `litellm.acompletion`: counts calls, raises or answers as scripted."""

    def __init__(self, *outcomes: BaseException | str) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0

    async def __call__(self, **kwargs: Any) -> Any:
        self.calls += 1
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return SimpleNamespace(choices=[SimpleNamespace(message=SimpleNamespace(content=outcome))],
                               usage=SimpleNamespace(prompt_tokens=3, completion_tokens=1))


@pytest.fixture
def litellm_script(monkeypatch: pytest.MonkeyPatch) -> Any:
    litellm = import_litellm()

    def install(*outcomes: BaseException | str) -> CountingCompletion:
        fake = CountingCompletion(*outcomes)
        monkeypatch.setattr(litellm, "acompletion", fake)
        return fake

    return install


@pytest.mark.parametrize("argv", [
    ["run", "{pipe}", "--prompt", "hi"],
    ["eval", "{pipe}", "--dataset", "{data}"],
    ["validate", "{pipe}"],
])
def test_each_command_names_the_missing_variable_and_calls_nothing(
        argv: list[str], tmp_path: Path, no_keys: None, litellm_script: Any,
        capsys: pytest.CaptureFixture[str]) -> None:
    fake = litellm_script("never")
    args = [a.format(pipe=_pipeline(tmp_path), data=_dataset(tmp_path)) for a in argv]
    assert main(args) == 2
    captured = capsys.readouterr()
    assert "OPENAI_API_KEY is not set" in captured.err and "valid pipeline" not in captured.out
    assert fake.calls == 0


def test_validate_skip_keys_checks_the_file_alone(tmp_path: Path, no_keys: None,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(_pipeline(tmp_path)), "--skip-keys"]) == 0
    assert "valid pipeline 'hosted'" in capsys.readouterr().out


def test_api_key_env_names_the_variable_and_an_empty_one_is_missing(monkeypatch: pytest.MonkeyPatch,
                                                                     no_keys: None) -> None:
    models = {"m": ModelSpec(model="openai/x", api_base="http://h:1/v1", api_key_env="MY_SERVER_KEY")}
    monkeypatch.setenv("MY_SERVER_KEY", "")
    assert credential_problems(models) == ["models.m (openai/x): MY_SERVER_KEY (its api_key_env) is not set"]
    monkeypatch.setenv("MY_SERVER_KEY", "secret-value-123")
    assert credential_problems(models) == []


def test_engines_the_tool_runs_and_unlisted_providers_need_no_key(no_keys: None) -> None:
    models = {alias: ModelSpec(model=m) for alias, m in
              (("a", "local/smollm2-135m"), ("b", "ollama/llama3"), ("c", "hosted_vllm/x"), ("d", "fake/scripted"))}
    assert credential_problems(models) == []


def test_any_variable_litellm_accepts_will_do(monkeypatch: pytest.MonkeyPatch, no_keys: None) -> None:
    models = {"g": ModelSpec(model="gemini/gemini-1.5-flash")}
    assert credential_problems(models) == [
        "models.g (gemini/gemini-1.5-flash): none of GEMINI_API_KEY, GOOGLE_API_KEY is set"]
    monkeypatch.setenv("GOOGLE_API_KEY", "x" * 20)
    assert credential_problems(models) == []


def test_the_key_table_agrees_with_litellms_helper(monkeypatch: pytest.MonkeyPatch, no_keys: None) -> None:
    """`KEY_VARIABLES` is read without importing litellm; this keeps it in step with litellm's
    `validate_environment` (first name = the one litellm's helper asks for)."""
    litellm = import_litellm()
    for provider, names in KEY_VARIABLES.items():
        for name in names:
            monkeypatch.delenv(name, raising=False)
        found = litellm.validate_environment(model=f"{provider}/some-model")
        assert not found["keys_in_environment"] and set(found["missing_keys"]) <= set(names), provider
        monkeypatch.setenv(names[0], "x" * 20)
        assert litellm.validate_environment(model=f"{provider}/some-model")["keys_in_environment"], provider
        monkeypatch.delenv(names[0])


def test_a_bare_model_name_is_placed_by_litellms_helper(no_keys: None) -> None:
    assert credential_problems({"m": ModelSpec(model="gpt-4o-mini")}) == [
        "models.m (gpt-4o-mini): OPENAI_API_KEY is not set"]


# --- 2. errors retrying cannot fix are made once; Retry-After sets the wait ---------------------

def _client(**extra: Any) -> LLMClient:
    return LLMClient({"m": ModelSpec(model="openai/gpt-4o-mini", **extra)}, EngineSource())


def _ask(client: LLMClient) -> Any:
    return asyncio.run(client.complete(Request("m", (Message("user", "hi"),), 0.0, 8)))


def _status_error(cls_name: str, status: int, headers: dict[str, str] | None = None) -> BaseException:
    import httpx

    litellm = import_litellm()
    response = httpx.Response(status, headers=headers or {}, request=httpx.Request("POST", "https://api.example"))
    cls = getattr(litellm, cls_name)
    return cls(f"{cls_name} from the provider", llm_provider="openai", model="gpt-4o-mini", response=response)


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The client's backoff waits, recorded instead of slept (a fake clock)."""
    seen: list[float] = []

    async def record(seconds: float) -> None:
        seen.append(seconds)

    monkeypatch.setattr(client_module, "_sleep", record)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key-000")
    return seen


@pytest.mark.parametrize(("cls_name", "status"), [
    ("AuthenticationError", 401), ("PermissionDeniedError", 403), ("NotFoundError", 404), ("BadRequestError", 400)])
def test_an_error_retrying_cannot_fix_is_called_exactly_once(cls_name: str, status: int, litellm_script: Any,
                                                             waits: list[float]) -> None:
    fake = litellm_script(_status_error(cls_name, status))
    client = _client()
    with pytest.raises(LLMCallError, match=rf"{cls_name} \(not retried\)"):
        _ask(client)
    assert fake.calls == 1 and waits == [] and client.spent.calls == 1


def test_litellms_missing_credentials_500_is_not_retried(litellm_script: Any, waits: list[float]) -> None:
    litellm = import_litellm()
    fake = litellm_script(litellm.InternalServerError(
        "OpenAIException - Missing credentials. Please pass an `api_key`", llm_provider="openai", model="gpt-4o-mini"))
    with pytest.raises(LLMCallError, match="no API key"):
        _ask(_client())
    assert fake.calls == 1 and waits == []


def test_a_rate_limit_waits_what_retry_after_asks(litellm_script: Any, waits: list[float]) -> None:
    fake = litellm_script(_status_error("RateLimitError", 429, {"Retry-After": "7"}), "4")
    assert _ask(_client()).text == "4"
    assert fake.calls == 2 and waits == [7.0]


def test_a_retry_after_past_the_deadline_fails_at_once(litellm_script: Any, waits: list[float]) -> None:
    fake = litellm_script(_status_error("RateLimitError", 429, {"retry-after": "600"}))
    with pytest.raises(LLMCallError, match=r"asks to wait 600 s .*timeout_s=30 s"):
        _ask(_client(timeout_s=30))
    assert fake.calls == 1 and waits == []


def test_a_rate_limit_without_retry_after_backs_off_as_before(litellm_script: Any, waits: list[float]) -> None:
    fake = litellm_script(_status_error("RateLimitError", 429), "4")
    assert _ask(_client()).text == "4"
    assert fake.calls == 2 and len(waits) == 1 and 0.25 <= waits[0] <= 0.75


def test_a_real_short_retry_after_is_slept(litellm_script: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key-000")
    monkeypatch.setattr(client_module, "BACKOFF_S", 0.001)
    fake = litellm_script(_status_error("RateLimitError", 429, {"retry-after-ms": "300"}), "4")
    start = time.perf_counter()
    assert _ask(_client()).text == "4"
    assert fake.calls == 2 and time.perf_counter() - start >= 0.3


def test_retry_after_forms() -> None:
    assert retry_after_s({"Retry-After": "2"}) == 2.0
    assert retry_after_s({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert retry_after_s({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # a date in the past
    assert retry_after_s({"retry-after": "soon"}) is None
    assert retry_after_s(None) is None and retry_after_s({}) is None


# --- 3. failures on stderr, accuracy over the examples scored, exit 1 when none was ---------------

QUESTIONS = [{"id": f"q{i}", "input": f"Question {i}: what is {i}?", "reference": str(i)} for i in range(4)]


def _questions(tmp_path: Path) -> Path:
    path = tmp_path / "questions.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    return path


def test_eval_where_every_example_fails_exits_1_with_the_cause(tmp_path: Path, litellm_script: Any,
                                                               waits: list[float],
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    fake = litellm_script(_status_error("AuthenticationError", 401))
    preds = tmp_path / "preds.jsonl"
    code = main(["eval", str(_pipeline(tmp_path)), "--dataset", str(_questions(tmp_path)), "--scorer", "numeric",
                 "-o", str(preds)])
    captured = capsys.readouterr()
    err = " ".join(captured.err.split())
    assert code == 1
    assert "every one of the 4 examples failed" in err and "AuthenticationError" in err
    assert "accuracy" not in captured.out and "sk-test" not in captured.err + captured.out
    assert fake.calls == 4 and waits == []  # one call per example, none retried
    assert all(json.loads(line)["error"] for line in preds.read_text().splitlines())


def _fail_on_question_0(messages: list[dict[str, str]], sampling: dict[str, Any]) -> str:
    text = messages[-1]["content"]
    if "Question 0" in text:
        raise LLMCallError("fake: AuthenticationError (not retried): bad key")
    return "The answer is " + text.split("Question ")[1].split(":")[0]


def test_eval_accuracy_is_over_the_scored_examples_with_the_failed_beside(
        tmp_path: Path, fake_llm: type[FakeLLM], capsys: pytest.CaptureFixture[str]) -> None:
    fake_llm.reset(_fail_on_question_0)
    pipe = tmp_path / "fake.yaml"
    pipe.write_text(yaml.safe_dump(fake_pipeline([{"type": "generator", "model": "m"}])))
    assert main(["eval", str(pipe), "--dataset", str(_questions(tmp_path)), "--scorer", "numeric",
                 "--no-coverage", "--json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["accuracy"]["mean"] == 1.0 and doc["scored"] == 3 and doc["failed"] == 1  # not 0.75
    assert "1 of 4 examples failed" in captured.err and "bad key" in captured.err
    assert main(["eval", str(pipe), "--dataset", str(_questions(tmp_path)), "--scorer", "numeric",
                 "--no-coverage"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "accuracy 1.000" in out and "1 failed of 4 not counted" in out


def test_run_prints_failures_on_stderr_and_answers_on_stdout(tmp_path: Path, fake_llm: type[FakeLLM],
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    fake_llm.reset(_fail_on_question_0)
    pipe = tmp_path / "fake.yaml"
    pipe.write_text(yaml.safe_dump(fake_pipeline([{"type": "generator", "model": "m"}])))
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('{"id": "a", "prompt": "Question 0: x"}\n{"id": "b", "prompt": "Question 1: y"}\n')
    assert main(["run", str(pipe), "--input", str(prompts)]) == 1
    captured = capsys.readouterr()
    assert [json.loads(line) for line in captured.out.splitlines()] == [{"id": "b", "output": "The answer is 1"}]
    assert "a: failed:" in captured.err and "bad key" in captured.err
    assert main(["run", str(pipe), "--prompt", "Question 0: x"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "every one of the 1 prompts failed" in captured.err


def test_score_leaves_null_outputs_out_of_the_accuracy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    preds = tmp_path / "preds.jsonl"
    preds.write_text('{"id": "q0", "output": null}\n{"id": "q1", "output": "1"}\n')
    assert main(["score", str(_questions(tmp_path)), "--predictions", str(preds), "--scorer", "numeric"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # rich wraps at the terminal's width
    assert "accuracy 1.000" in out and "1 failed (output null) not counted" in out
    preds.write_text('{"id": "q0", "output": null}\n')
    assert main(["score", str(_questions(tmp_path)), "--predictions", str(preds), "--scorer", "numeric"]) == 1
    assert "no accuracy" in capsys.readouterr().err


def test_a_search_without_the_key_stops_before_its_run_dir(tmp_path: Path, no_keys: None, litellm_script: Any,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    fake = litellm_script("never")
    config = search_config(tmp_path, model="openai/gpt-4o-mini")
    assert main(["validate", str(config)]) == 2
    assert "models.m (openai/gpt-4o-mini): OPENAI_API_KEY is not set" in capsys.readouterr().err
    assert main(["validate", str(config), "--skip-keys"]) == 0
    capsys.readouterr()
    start = time.perf_counter()
    assert main(["search", str(config)]) == 2
    assert time.perf_counter() - start < 2.0
    assert "OPENAI_API_KEY is not set" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists() and fake.calls == 0
