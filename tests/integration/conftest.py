from __future__ import annotations

from collections.abc import Iterator

import pytest

from archon_cli.llm.engines.manager import Engines


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def engines() -> Iterator[Engines]:
    """One embedded engine for the whole session (starting one costs about a second)."""
    with Engines() as shared:
        yield shared
