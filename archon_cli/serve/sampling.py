"""Where a request's `temperature` and `max_tokens` apply: to the components that write the
answer, i.e. the last layer of generators or fusers (a ranker, verifier or vote after it only
chooses among those texts, and their own outputs are verdicts whose length must not be cut).
Earlier layers keep the sampling the architecture was found with."""

from __future__ import annotations

from archon_cli.config.pipeline import PipelineSpec

ANSWER_WRITERS = frozenset({"generator", "fuser"})


def answer_layer(spec: PipelineSpec) -> int | None:
    for li in range(len(spec.layers) - 1, -1, -1):
        if all(c.type in ANSWER_WRITERS for c in spec.layers[li]):
            return li
    return None


def with_request_sampling(spec: PipelineSpec, temperature: float | None, max_tokens: int | None) -> PipelineSpec:
    update = {k: v for k, v in (("temperature", temperature), ("max_tokens", max_tokens)) if v is not None}
    li = answer_layer(spec)
    if not update or li is None:
        return spec
    layers = list(spec.layers)
    layers[li] = [c.model_copy(update=update) for c in layers[li]]
    return spec.model_copy(update={"layers": layers})
