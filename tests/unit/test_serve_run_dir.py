"""`archon serve RUN_DIR`: the chosen trial's stored pipeline, served."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

from archon_cli.cli.app import main
from archon_cli.components.validate import load_pipeline
from archon_cli.errors import RunStateError
from archon_cli.search.replay import chosen_spec
from archon_cli.serve.sources import load_sources
from tests.fakes import FakeLLM
from tests.search_helpers import only_run, search_config
from tests.unit.serve_helpers import running_server


def test_run_dir_serves_the_picked_trials_stored_pipeline(tmp_path: Path, fake_llm: type[FakeLLM]) -> None:
    assert main(["search", str(search_config(tmp_path, trials=3, search_size=3)), "--runs-dir",
                 str(tmp_path / "runs")]) == 0
    run = only_run(tmp_path)
    best, _ = chosen_spec(run, None)
    [served] = load_sources([run])
    assert served.spec == load_pipeline(run / "trials" / f"{best:04d}" / "pipeline.yaml")
    assert served.source == f"{run} trial {best}"
    [other] = load_sources([run], trial=(best + 1) % 3)
    assert other.spec == load_pipeline(run / "trials" / f"{(best + 1) % 3:04d}" / "pipeline.yaml")
    with pytest.raises(RunStateError):
        load_sources([run], trial=99)
    with running_server([served]) as srv:
        resp = httpx.post(f"{srv.url}/chat/completions", timeout=30,
                          json={"model": served.name, "messages": [{"role": "user", "content": "What is 1 + 1?"}]})
    assert resp.status_code == 200 and resp.json()["choices"][0]["message"]["content"]


def test_missing_source_is_a_config_error(tmp_path: Path) -> None:
    assert main(["serve", str(tmp_path / "nope.yaml")]) == 2


def test_ray_serve_flags_fail_clearly_when_ray_serve_does_not_import(capsys: pytest.CaptureFixture[str],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray.serve", None)  # as without grpcio: `import ray.serve` fails
    assert main(["serve", str(Path(__file__).parents[2] / "configs" / "sample_rank_fuse.yaml"), "--replicas", "2"]) == 2
    err = capsys.readouterr().err
    assert "Ray Serve" in err and "grpcio" in err and "one process" in err
