"""A replica restarts its engine when the engine died or has stopped answering for a while, not
when a busy engine misses one health check."""

from __future__ import annotations

from typing import Any

import pytest

from archon_cli.cluster import replica as replica_mod
from archon_cli.cluster.replica import UNRESPONSIVE_S, EngineReplica


class FakeEngine:
    threads = 1
    started = 0

    def __init__(self) -> None:
        self.url: str | None = None
        self.live = True

    def start(self) -> str:
        FakeEngine.started += 1
        self.url = f"http://127.0.0.1:{9000 + FakeEngine.started}"
        return self.url

    def alive(self) -> bool:
        return self.live

    def pid(self) -> int | None:
        return None

    def stop(self) -> None:
        self.live = False


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    state: dict[str, Any] = {"now": 1000.0, "answers": True}
    monkeypatch.setattr(replica_mod, "make_engine", lambda spec, host, threads: FakeEngine())
    monkeypatch.setattr(replica_mod, "healthy", lambda url: state["answers"])
    monkeypatch.setattr(replica_mod.time, "monotonic", lambda: state["now"])
    return state


def started_replica() -> tuple[EngineReplica, str]:
    rep = EngineReplica({"model": "local/smollm2-135m"}, multi_node=False)
    return rep, rep.start()


def test_a_healthy_engine_is_kept(world: dict[str, Any]) -> None:
    rep, url = started_replica()
    world["now"] += 60
    assert rep.check() == url and rep.restarts == 0


def test_a_busy_engine_that_misses_checks_is_kept_until_unresponsive_for_long(world: dict[str, Any]) -> None:
    rep, url = started_replica()
    world["answers"] = False
    world["now"] += UNRESPONSIVE_S / 2
    assert rep.check() == url and rep.restarts == 0
    world["answers"] = True  # answered again: the clock starts over
    assert rep.check() == url
    world["answers"] = False
    world["now"] += UNRESPONSIVE_S - 1
    assert rep.check() == url and rep.restarts == 0
    world["now"] += 2
    assert rep.check() != url and rep.restarts == 1


def test_a_dead_engine_is_restarted_at_once(world: dict[str, Any]) -> None:
    rep, url = started_replica()
    assert rep.engine is not None
    rep.engine.stop()
    new = rep.check()
    assert new != url and rep.restarts == 1 and rep.engine.alive()
