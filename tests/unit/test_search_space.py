from __future__ import annotations

from pathlib import Path

import pytest

from archon_cli.cli.app import main
from archon_cli.config.loader import read_yaml
from archon_cli.config.pipeline import ModelSpec
from archon_cli.config.search import load_search_config
from archon_cli.config.space import load_space, parse_space
from archon_cli.errors import ConfigError
from archon_cli.pipeline import Pipeline
from archon_cli.search.space import Infeasible, build, enumerate_space, summarize
from archon_cli.search.split import split
from tests.search_helpers import TINY_SPACE, search_config

ROOT = Path(__file__).resolve().parents[2]
MODELS = {"m": ModelSpec(model="fake/scripted")}


def test_build_names_params_readably_and_gives_a_pipeline_spec() -> None:
    space = parse_space(TINY_SPACE, "tiny")
    spec = build(space, MODELS, {"L0.generator.samples": 3, "L1.choice": "rank", "L1.rank.0.ranker.top_k": 2})
    assert [layer[0].type for layer in spec.layers] == ["generator", "ranker"]
    assert spec.layers[0][0].samples == 3  # type: ignore[attr-defined]
    assert spec.layers[1][0].top_k == 2  # type: ignore[attr-defined]
    assert spec.layers[0][0].max_tokens == 16  # type: ignore[attr-defined]  # space default applied
    names = {n for p in enumerate_space(space, MODELS) for n in p.params}
    assert names == {"L0.generator.samples", "L1.choice", "L1.rank.0.ranker.top_k"}


def test_quickstart_space_names_and_calls_range() -> None:
    cfg = load_search_config(ROOT / "configs/quickstart.yaml")
    summary = summarize(cfg.resolved_space(), cfg.resolved_models())
    # 3 sample counts × 2 temperatures × 2 prompt styles × 8 selections (ranker top_k 1 or 2)
    assert summary.size == summary.feasible == 96
    assert (summary.calls_min, summary.calls_max) == (1, 10)  # weighted vote over 5 samples
    names = {n for p in enumerate_space(cfg.resolved_space(), cfg.resolved_models()) for n in p.params}
    assert {"L1.ranker.top_k", "L0.generator.samples", "L0.generator.temperature",
            "L0.generator.prompt_style"} <= names
    choices = {p.params["L1.choice"] for p in enumerate_space(cfg.resolved_space(), cfg.resolved_models())}
    assert {"shortest", "weighted_vote"} <= choices


def test_itas_space_has_the_six_axes_and_a_calls_range(capsys: pytest.CaptureFixture[str]) -> None:
    space = load_space(ROOT / "search_spaces/archon_itas.yaml")
    points = list(enumerate_space(space, space.models))
    names = {n for p in points for n in p.params}
    assert {"gen.generator.models", "gen.generator.samples", "fuse.repeat", "fuse.fuser.samples",
            "fuse.critique_rank.use", "eval.choice", "final.critique_rank.use"} <= names
    assert all(p.spec is not None for p in points)
    biggest = max(points, key=lambda p: Pipeline(p.spec).estimate_calls().calls if p.spec else 0)
    assert biggest.params["gen.generator.models"] == 10 and biggest.params["eval.choice"] == "verifier"
    assert {p.params["eval.choice"] for p in points} == {"none", "verifier", "unit_tests"}  # the paper's six axes
    assert main(["validate", str(ROOT / "search_spaces/archon_itas.yaml")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert f"{len(points)} configurations" in out and "calls per query: 2–" in out


def test_invalid_combinations_are_infeasible_not_crashes() -> None:
    space = parse_space({"layers": [
        {"optional": True, "component": {"type": "generator"}},
        {"component": {"type": "ranker"}},
    ]}, "bad")
    points = list(enumerate_space(space, MODELS))
    assert len(points) == 2
    assert [p.spec is None for p in points] == [False, True]  # ranker first breaks the composition rules
    with pytest.raises(Infeasible):
        build(space, MODELS, {"L0.use": False})


def test_ensembles_top_k_and_subsets() -> None:
    models = {f"m{i}": ModelSpec(model="fake/scripted") for i in range(3)}
    top = parse_space({"layers": [{"component": {"type": "generator", "ensemble": {"top_k": {"int": [1, 5]}}}}]}, "s")
    assert [c.model for c in build(top, models, {"L0.generator.models": 2}).layers[0]] == ["m0", "m1"]
    assert summarize(top, models).size == 3  # the range stops at the ranked list's length
    sub = parse_space({"layers": [{"component": {"type": "generator", "ensemble": {"subsets": True}}}]}, "s")
    s = summarize(sub, models)
    assert (s.size, s.feasible) == (8, 7)  # the empty ensemble is infeasible


def test_repeat_and_choice_of_models() -> None:
    models = {"a": ModelSpec(model="fake/a"), "b": ModelSpec(model="fake/b")}
    space = parse_space({"layers": [
        {"component": {"type": "generator", "model": {"choices": ["a", "b"]}}},
        {"name": "moa", "repeat": {"int": [1, 3]}, "component": {"type": "fuser"}},
    ]}, "s")
    spec = build(space, models, {"L0.generator.model": "b", "moa.fuser.model": "a", "moa.repeat": 3})
    assert [layer[0].type for layer in spec.layers] == ["generator", "fuser", "fuser", "fuser"]
    assert spec.layers[0][0].model == "b"  # type: ignore[attr-defined]


def test_search_config_errors_name_file_and_path(tmp_path: Path) -> None:
    path = search_config(tmp_path)
    data = read_yaml(path)
    data["search"]["trialz"] = 3
    data["budget"] = {"calls_per_query": 0}
    bad = tmp_path / "bad.yaml"
    import yaml

    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as err:
        load_search_config(bad)
    text = str(err.value)
    assert str(bad) in text and "search.trialz: unknown key" in text and "budget.calls_per_query" in text
    assert main(["validate", str(bad)]) == 2


def test_validate_prints_size_and_calls_of_a_search_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                           ) -> None:
    assert main(["validate", str(search_config(tmp_path))]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "15 configurations" in out and "calls per query: 1–4" in out


def test_split_is_seeded_random_and_disjoint(tmp_path: Path) -> None:
    cfg = load_search_config(search_config(tmp_path, size=20, search_size=4))
    items = list(range(20))
    s1, t1 = split(items, cfg.task)
    assert (len(s1), len(t1)) == (4, 16) and not set(s1) & set(t1)
    assert s1 == split(items, cfg.task)[0] and s1 != items[:4]
