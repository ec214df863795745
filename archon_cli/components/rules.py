"""Composition rules from the Archon paper (§3.2) that are checked on every pipeline.

1. The first layer holds only generators, and generators appear only in the first layer.
2. One component type per layer (several generators form an ensemble, several fusers a MoA layer).
3. A unit-test evaluator needs a unit-test generator in an earlier layer.
"""

from __future__ import annotations

from archon_cli.config.pipeline import ComponentParams


def composition_problems(layers: list[list[ComponentParams]]) -> list[str]:
    from archon_cli.components import COMPONENTS

    problems = []
    seen_types: set[str] = set()
    for li, layer in enumerate(layers):
        types = [c.type for c in layer]
        if len(set(types)) > 1:
            problems.append(f"layers.{li}: one component type per layer (found {', '.join(sorted(set(types)))})")
        for ci, comp in enumerate(layer):
            first_only = COMPONENTS.get(comp.type).first_layer_only
            if li == 0 and not first_only:
                problems.append(f"layers.0.{ci}.type: the first layer must hold generators, not {comp.type!r}")
            if li > 0 and first_only:
                problems.append(f"layers.{li}.{ci}.type: {comp.type!r} belongs in the first layer only")
            if comp.type == "unit_test_evaluator" and "unit_test_generator" not in seen_types:
                problems.append(f"layers.{li}.{ci}.type: a unit_test_evaluator needs a unit_test_generator "
                                "in an earlier layer")
        seen_types.update(types)
    return problems
