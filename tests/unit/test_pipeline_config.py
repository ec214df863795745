from __future__ import annotations

from pathlib import Path

import pytest

from archon_cli.cli.app import main
from archon_cli.components.validate import load_pipeline, parse_pipeline
from archon_cli.errors import ConfigError
from tests.conftest import fake_pipeline
from tests.fakes import FakeLLM

GOOD = """
name: ok
models:
  smol: {model: local/smollm2-135m}
layers:
  - [{type: generator, model: smol, samples: 3}]
  - [{type: ranker, model: smol, top_k: 2}]
  - [{type: fuser, model: smol}]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        ("  - [{type: ranker, model: smol, top_k: 2, topk: 3}]", "layers.1.0.topk: unknown key"),
        ("  - [{type: ranker, model: smol, top_k: two}]", "layers.1.0.top_k: Input should be a valid integer"),
        ("  - [{type: ranker, model: nope, top_k: 2}]", "layers.1.0.model: unknown model alias 'nope'"),
        ("  - [{type: ranker, model: smol, top_k: -1}]",
         "layers.1.0.top_k: Input should be greater than or equal to 1"),
    ],
)
def test_validate_names_file_and_yaml_path(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           broken: str, expected: str) -> None:
    path = write(tmp_path, GOOD.replace("  - [{type: ranker, model: smol, top_k: 2}]", broken))
    code = main(["validate", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert str(path) in err and expected in " ".join(err.split())
    assert "Traceback" not in err
    assert err.count("layers.") == 1  # one clear message, not a cascade


def test_validate_good_file_prints_calls_per_query(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(write(tmp_path, GOOD))]) == 0
    assert "calls per query: 5" in capsys.readouterr().out


def test_yaml_syntax_error_names_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(write(tmp_path, "layers: [\n  - {a: 1\n"))]) == 2
    assert "line" in capsys.readouterr().err


def test_missing_file_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "none.yaml")]) == 2
    assert "file not found" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        ([[{"type": "ranker", "model": "m"}]], "the first layer must hold generators"),
        ([[{"type": "generator", "model": "m"}], [{"type": "generator", "model": "m"}]], "first layer only"),
        ([[{"type": "generator", "model": "m"}], [{"type": "critic", "model": "m"}, {"type": "fuser", "model": "m"}]],
         "one component type per layer"),
        ([[{"type": "generator", "model": "m"}], [{"type": "unit_test_evaluator", "model": "m"}]],
         "needs a unit_test_generator"),
        ([[{"type": "generator", "model": "m"}], [{"type": "teleporter"}]], "unknown component 'teleporter'"),
        ([[{"type": "generator", "model": "m"}], []], "a layer needs at least one component"),
    ],
)
def test_composition_rules(layers: list[list[dict]], expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_pipeline(fake_pipeline(*layers), "x.yaml")
    assert expected in str(err.value)


def test_every_shipped_config_validates() -> None:
    configs = sorted(Path(__file__).parents[2].joinpath("configs").glob("*.yaml"))
    pipelines = [p for p in configs if "layers:" in p.read_text()]
    assert len(pipelines) >= 5
    for path in pipelines:
        load_pipeline(path)


def test_spec_round_trips_through_yaml(tmp_path: Path) -> None:
    spec = load_pipeline(write(tmp_path, GOOD))
    again = load_pipeline(write(tmp_path, spec.to_yaml()))
    assert again == spec


def test_ctrl_c_during_a_command_exits_130(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           fake_llm: type[FakeLLM]) -> None:
    def interrupt(messages: list[dict[str, str]], sampling: dict[str, object]) -> str:
        raise KeyboardInterrupt

    fake_llm.reset(interrupt)
    path = write(tmp_path, "models: {m: {model: fake/x}}\nlayers: [[{type: generator, model: m}]]\n")
    assert main(["run", str(path), "--prompt", "hi"]) == 130
    assert "interrupted" in capsys.readouterr().err


def test_one_pass_reports_a_bad_alias_beside_bad_params(tmp_path: Path) -> None:
    path = write(tmp_path, "models: {smol: {model: fake/x}}\n"
                           "layers: [[{type: generator, model: smoll, temprature: 0.7, max_tokens: -1}]]\n")
    with pytest.raises(ConfigError) as caught:
        load_pipeline(path)
    problems = "\n".join(caught.value.problems)
    assert "unknown model alias 'smoll' (did you mean 'smol'?)" in problems
    assert "temprature: unknown key (did you mean 'temperature'?)" in problems
    assert "max_tokens" in problems
