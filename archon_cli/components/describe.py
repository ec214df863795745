"""One human description of an architecture, used wherever one is shown (leaderboard, live
view, trials.csv, log): layers joined by arrows, e.g. `5× smol T0.7 → vote` or
`3× smol T0.7 → critic → rank top-1 → fuse`."""

from __future__ import annotations

from archon_cli.config.pipeline import ComponentParams, PipelineSpec

SHORT = {"majority_vote": "vote", "fuser": "fuse", "verifier": "verify", "unit_test_generator": "write tests",
         "unit_test_evaluator": "run tests", "critic": "critic", "ranker": "rank"}


def _component(params: ComponentParams) -> str:
    if params.type == "generator":
        samples, temperature = getattr(params, "samples", 1), getattr(params, "temperature", 0)
        return f"{samples}× {getattr(params, 'model', '?')} T{temperature:g}"
    name = SHORT.get(params.type, params.type)
    if params.type == "ranker":
        name += f" top-{getattr(params, 'top_k', 1)}"
    samples = getattr(params, "samples", 1)
    return f"{name}×{samples}" if params.type == "fuser" and samples > 1 else name


def _layer(layer: list[ComponentParams]) -> str:
    if layer and layer[0].type == "generator":
        return " + ".join(_component(c) for c in layer)  # an ensemble: one term per model
    parts = [_component(c) for c in layer]
    if len(set(parts)) == 1 and len(parts) > 1:
        return f"{len(parts)}× {parts[0]}"  # a Mixture-of-Agents layer of identical fusers
    return " + ".join(parts)


def describe_spec(spec: PipelineSpec) -> str:
    return " → ".join(_layer(layer) for layer in spec.layers)
