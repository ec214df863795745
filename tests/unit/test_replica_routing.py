"""Least-busy routing over engine replicas (the table RayEngines keeps per worker), and trial
processes yielding the CPU to the engines beside them."""

from __future__ import annotations

from archon_cli.cluster.supervisor import LeastBusy

A, B = "http://a/v1", "http://b/v1"


def test_calls_go_to_the_replica_with_fewest_in_flight() -> None:
    routes = LeastBusy()
    routes.route_to("m", [A, B])
    first, second = routes.take("m"), routes.take("m")
    assert {first, second} == {A, B}  # one each before any replica gets a second call
    routes.give_back("m", first)
    assert routes.take("m") == first  # the idle one, not the next in turn
    assert routes.take("m") in {A, B}


def test_ties_are_broken_in_turn() -> None:
    routes = LeastBusy()
    routes.route_to("m", [A, B])
    picks = []
    for _ in range(4):
        url = routes.take("m")
        picks.append(url)
        routes.give_back("m", url)
    assert picks.count(A) == picks.count(B) == 2


def test_rerouting_keeps_counts_of_kept_replicas_and_drops_dead_ones() -> None:
    routes = LeastBusy()
    routes.route_to("m", [A])
    routes.take("m"), routes.take("m")  # two calls in flight on A
    routes.route_to("m", [A, B])  # B comes up: its calls count from zero, A keeps its two
    assert [routes.take("m"), routes.take("m")] == [B, B]
    routes.route_to("m", [A])  # B died
    routes.give_back("m", B)  # a call to the dead replica ends: nothing to count
    assert routes.take("m") == A
    routes.route_to("m", [A, B])  # B is back, empty
    assert routes.take("m") == B


def test_unknown_model_is_not_routed() -> None:
    routes = LeastBusy()
    assert not routes.knows("m")
    routes.route_to("m", [])
    assert not routes.knows("m")


def test_trial_threads_yield_the_cpu_to_engines() -> None:
    """A trial lowers its own thread's priority (and so its later threads'), not its caller's."""
    import os
    import threading

    from archon_cli.cluster.executor import TRIAL_NICE, yield_cpu_to_engines

    before = os.getpriority(os.PRIO_PROCESS, 0)
    seen: dict[str, int] = {}

    def trial() -> None:
        yield_cpu_to_engines()
        yield_cpu_to_engines()  # idempotent
        seen["trial"] = os.getpriority(os.PRIO_PROCESS, 0)
        child = threading.Thread(target=lambda: seen.setdefault("child", os.getpriority(os.PRIO_PROCESS, 0)))
        child.start()
        child.join()

    thread = threading.Thread(target=trial)
    thread.start()
    thread.join()
    assert seen == {"trial": max(before, TRIAL_NICE), "child": max(before, TRIAL_NICE)}
    assert os.getpriority(os.PRIO_PROCESS, 0) == before
