"""The unit-test evaluator executes candidates' code against generated asserts in the sandbox
(zero LLM calls), and the eval command runs a code pipeline end to end on the embedded engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from archon_cli.components.state import ExampleInput
from archon_cli.components.validate import parse_pipeline
from archon_cli.llm.session import open_client
from archon_cli.pipeline import Pipeline
from archon_cli.tasks.humaneval import INSTRUCTION
from tests.conftest import fake_pipeline
from tests.fakes import FakeLLM

pytestmark = pytest.mark.integration

PROMPT = 'def add(a: int, b: int) -> int:\n    """Sum of a and b."""\n'
WRONG = "```python\ndef add(a, b):\n    return a - b\n```"
RIGHT = "```python\ndef add(a, b):\n    return a + b\n```"
TESTS = "assert add(1, 2) == 3\nassert add(0, 0) == 0\nassert add(-1, 1) == 0"


def respond(messages: list[dict[str, str]], sampling: dict[str, Any]) -> str:
    if "assert statements" in messages[-1]["content"]:
        return TESTS
    return RIGHT if sampling.get("seed") == 2 else WRONG  # only the last sample is right


@pytest.mark.parametrize("mode", ["auto", "execute"])
def test_evaluator_executes_and_ranks_by_tests_passed(fake_llm: type[FakeLLM], mode: str) -> None:
    fake_llm.reset(respond)
    spec = parse_pipeline(fake_pipeline(
        [{"type": "generator", "model": "m", "samples": 3, "temperature": 0.7}],
        [{"type": "unit_test_generator", "model": "m"}],
        [{"type": "unit_test_evaluator", "model": "m", "mode": mode}]), "test")
    pipe = Pipeline(spec)
    messages = ExampleInput.from_prompt("add", INSTRUCTION.format(prompt=PROMPT)).messages
    example = ExampleInput(id="add", messages=messages, entry_point="add")
    with open_client(spec.models) as client:
        (result,) = pipe.run([example], client)
    assert result.error is None
    assert result.output == RIGHT
    assert len(fake_llm.calls) == 4  # 3 samples + 1 test generation; no judging call
    estimate = pipe.estimate_calls()
    assert estimate.per_layer[2] == (0 if mode == "execute" else 3)  # auto: an upper bound


def test_eval_code_pipeline_on_humaneval_embedded_engine(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from archon_cli.cli.app import main

    # configs/code_unit_tests.yaml with shorter completions: the CPU engine writes ~100 tokens/s.
    config = tmp_path / "code.yaml"
    text = Path("configs/code_unit_tests.yaml").read_text()
    config.write_text(text.replace("max_tokens: 192", "max_tokens: 96").replace("max_tokens: 128", "max_tokens: 64"))
    preds = tmp_path / "preds.jsonl"
    code = main(["eval", str(config), "--dataset", "humaneval", "--limit", "2", "-o", str(preds)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "code-unit-tests on humaneval: accuracy" in out and "n=2" in out
    assert len(preds.read_text().splitlines()) == 2
