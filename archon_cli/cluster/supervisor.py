"""Engine replicas supervised as Ray actors, and the view of them that workers route through.

`EngineSupervisor` (a threaded Ray actor) creates `replicas` EngineReplica actors per model with
the model's resources, health-checks them every few seconds and restarts a dead engine (or a
replica actor Ray restarted). `RayEngines` is the EngineSource a worker's LLM client uses: it
routes each call to the least busy healthy replica of a model, and on a failed call asks the
supervisor to check at once, so a dead replica is routed around until it is back.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from archon_cli.cluster.replica import EngineReplica
from archon_cli.config.pipeline import ModelSpec
from archon_cli.errors import EngineError
from archon_cli.llm.engines.manager import EngineSource

HEALTH_INTERVAL_S = 2.0  # how soon a dead replica is noticed without any failed call


def engine_models(models: dict[str, ModelSpec]) -> dict[str, ModelSpec]:
    """Model string → spec, for the models whose engines the tool runs (one entry per model)."""
    out: dict[str, ModelSpec] = {}
    for spec in models.values():
        if spec.model.startswith("local/") or (spec.model.startswith("vllm/") and spec.api_base is None):
            out.setdefault(spec.model, spec)
    return out


class EngineSupervisor:
    def __init__(self, models: dict[str, dict[str, Any]], multi_node: bool) -> None:
        import ray

        remote_replica = ray.remote(EngineReplica)
        self.replicas: dict[str, list[Any]] = {}
        for model, data in models.items():
            spec = ModelSpec.model_validate(data)
            self.replicas[model] = [
                remote_replica.options(num_cpus=spec.cpus_per_replica, num_gpus=spec.gpus_per_replica,
                                       scheduling_strategy="SPREAD", max_restarts=-1,
                                       max_task_retries=-1).remote(data, multi_node)
                for _ in range(spec.replicas)
            ]
        self.urls_by_model: dict[str, list[str | None]] = {
            model: ray.get([r.start.remote() for r in reps]) for model, reps in self.replicas.items()
        }
        self.restarts = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        threading.Thread(target=self._watch, daemon=True).start()

    def urls(self, model: str) -> list[str]:
        return [u for u in self.urls_by_model.get(model, []) if u]

    def check(self) -> int:
        """Health-check every replica now; returns the number restarted so far."""
        import ray

        with self._lock:
            for model, reps in self.replicas.items():
                new = []
                for rep, old in zip(reps, self.urls_by_model[model], strict=True):
                    try:
                        url = ray.get(rep.check.remote(), timeout=600)
                    except Exception:
                        url = None
                    if url != old:
                        self.restarts += 1
                    new.append(url)
                self.urls_by_model[model] = new
            return self.restarts

    def info(self) -> list[dict[str, Any]]:
        import ray

        return ray.get([r.info.remote() for reps in self.replicas.values() for r in reps])

    def stop(self) -> None:
        import ray

        self._stop.set()
        ray.get([r.stop.remote() for reps in self.replicas.values() for r in reps])

    def _watch(self) -> None:
        while not self._stop.wait(HEALTH_INTERVAL_S):
            self.check()


def start_supervisor(models: dict[str, ModelSpec], multi_node: bool) -> Any:
    """Create the supervisor actor (no CPU of its own: it only waits on its replicas)."""
    import ray

    actor = ray.remote(EngineSupervisor).options(num_cpus=0, max_concurrency=8)
    data = {model: spec.model_dump() for model, spec in engine_models(models).items()}
    return actor.remote(data, multi_node)


class LeastBusy:
    """Routing table: the replica URLs of each model and this process's calls in flight to each.
    `take` picks the replica with the fewest (ties in turn) and counts the call until `give_back`.
    Not thread-safe: RayEngines guards it with a lock."""

    def __init__(self) -> None:
        self._in_flight: dict[str, dict[str, int]] = {}  # model → replica URL → calls in flight
        self._turn = 0

    def knows(self, model: str) -> bool:
        return bool(self._in_flight.get(model))

    def route_to(self, model: str, urls: list[str]) -> None:
        """Route over `urls` from now on; calls in flight to a kept replica still count."""
        old = self._in_flight.get(model, {})
        self._in_flight[model] = {u: old.get(u, 0) for u in urls}

    def take(self, model: str) -> str:
        loads = self._in_flight[model]
        urls = list(loads)
        self._turn = (self._turn + 1) % len(urls)
        url = min(urls[self._turn:] + urls[:self._turn], key=loads.__getitem__)
        loads[url] += 1
        return url

    def give_back(self, model: str, url: str) -> None:
        loads = self._in_flight.get(model, {})
        if url in loads:  # not a replica routed around since
            loads[url] -= 1


class RayEngines(EngineSource):
    """Routes a worker's calls over the replicas the supervisor runs, each to the least busy
    (`LeastBusy`), so a replica busy with long requests is not handed more while another one
    idles. The lock guards only the routing table; calls to the supervisor happen outside it."""

    def __init__(self, supervisor: Any) -> None:
        self.supervisor = supervisor
        self._routes = LeastBusy()
        self._lock = threading.Lock()

    def ready_url(self, spec: ModelSpec) -> str | None:
        with self._lock:
            return self._routes.take(spec.model) if self._routes.knows(spec.model) else None

    def url(self, spec: ModelSpec) -> str:
        if (url := self.ready_url(spec)) is not None:
            return url
        urls = self._healthy_urls(spec.model)
        with self._lock:
            self._routes.route_to(spec.model, urls)
            return self._routes.take(spec.model)

    def release(self, spec: ModelSpec, url: str) -> None:
        with self._lock:
            self._routes.give_back(spec.model, url)

    def report_failure(self, spec: ModelSpec, url: str) -> None:
        import ray

        ray.get(self.supervisor.check.remote())
        urls = self._healthy_urls(spec.model)
        with self._lock:
            self._routes.route_to(spec.model, urls)

    def describe(self) -> list[dict[str, object]]:
        import ray

        info: list[dict[str, object]] = ray.get(self.supervisor.info.remote())
        return info

    def _healthy_urls(self, model: str) -> list[str]:
        import ray

        deadline = time.monotonic() + 120
        while not (urls := ray.get(self.supervisor.urls.remote(model))):
            if time.monotonic() > deadline:
                raise EngineError(f"no healthy replica of {model}")
            time.sleep(1.0)
        return [f"{u}/v1" for u in urls]
