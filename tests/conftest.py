from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes import FakeLLM


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own LLM cache, so no test sees another's completions."""
    cache_dir = tmp_path / "cache"
    monkeypatch.setenv("ARCHON_CACHE_DIR", str(cache_dir))
    return cache_dir


@pytest.fixture
def fake_llm() -> Iterator[type[FakeLLM]]:
    FakeLLM.reset()
    yield FakeLLM
    FakeLLM.reset()


FAKE_MODELS = {"m": {"model": "fake/scripted"}}


def fake_pipeline(*layers: list[dict]) -> dict:
    """Pipeline data using the fake model under the alias `m`."""
    return {"name": "test", "models": FAKE_MODELS, "layers": [list(layer) for layer in layers]}
