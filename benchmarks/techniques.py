"""The techniques on the embedded model: per pipeline, calls per query, accuracy with its 95% CI,
the first layer's coverage (a perfect selector's accuracy) and each component's parsing
fallback rate (fallbacks ÷ its calls), on the same questions; the pipelines with structured
outputs run twice, `structured: off` and `auto`.
Prints JSON. Run on an idle machine (the engine uses every core); the cache makes a rerun free.

    python benchmarks/techniques.py [--dataset arithmetic] [--limit 40] [--seed 0] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# (row name, config, overrides of every layer's components)
ROWS: list[tuple[str, str, dict[str, Any]]] = [
    ("critique → rank → fuse, structured off", "critique_rank_fuse.yaml", {"structured": "off"}),
    ("critique → rank → fuse, structured auto", "critique_rank_fuse.yaml", {"structured": "auto"}),
    ("verify → unit tests → fuse, structured off", "verify_unit_tests.yaml", {"structured": "off"}),
    ("verify → unit tests → fuse, structured auto", "verify_unit_tests.yaml", {"structured": "auto"}),
    ("best-of-5 vote", "best_of_n_vote.yaml", {}),
    ("first_finish 3 of 5 → vote", "best_of_n_vote.yaml", {"first_finish": 3}),
    ("single call (T0)", "single_model.yaml", {}),
    ("single call, step_by_step (T0)", "single_model.yaml", {"prompt_style": "step_by_step", "max_tokens": 192}),
    ("program-aided vote", "program_aided.yaml", {}),
    ("self-refine", "self_refine.yaml", {}),
    ("adaptive vote", "adaptive_vote.yaml", {}),
    ("shortest of 5", "shortest.yaml", {}),
    ("weighted vote", "weighted_vote.yaml", {}),
]


def with_overrides(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Every component gets the overrides its type accepts (the generator's keys go to
    generators, `structured` to the components that have it)."""
    from archon_cli.components import COMPONENTS

    layers = []
    for layer in data["layers"]:
        out = []
        for comp in layer:
            fields = COMPONENTS.get(comp["type"]).Params.model_fields
            out.append(comp | {k: v for k, v in overrides.items() if k in fields and
                               (k == "structured" or comp["type"] in ("generator", "adaptive_vote"))})
        layers.append(out)
    return data | {"layers": layers}


def measure(dataset: str, limit: int, seed: int, only: list[str]) -> dict[str, Any]:
    from archon_cli.components.validate import parse_pipeline
    from archon_cli.config.loader import read_yaml
    from archon_cli.evaluate import evaluate
    from archon_cli.llm.client import metered
    from archon_cli.llm.session import open_client
    from archon_cli.pipeline import Pipeline
    from archon_cli.tasks.loading import load_task

    examples, scorer = load_task(dataset, None, limit=limit, seed=seed)
    rows = []
    for name, config, overrides in [r for r in ROWS if not only or any(o in r[0] for o in only)]:
        path = ROOT / "configs" / config
        data = with_overrides(read_yaml(path), overrides)
        if name.endswith("(T0)"):
            data["layers"][0][0]["temperature"] = 0.0
        pipe = Pipeline(parse_pipeline(data, path))
        with open_client(pipe.spec.models) as client, metered() as spent:
            done = evaluate(pipe, examples, scorer, client, coverage=True)
        usage, est, cov = done.usage, done.estimate, done.coverage
        calls: dict[str, int] = {}  # per component
        for res in done.results:
            for rec in res.calls:
                calls[rec.component] = calls.get(rec.component, 0) + 1
        rates = {}  # per component: calls that fell back ÷ its calls
        for key, n in usage.fallbacks.items():
            component = key.rsplit(".", 1)[0]
            rates[key] = round(n / max(1, calls.get(component, 0)), 3)
        rows.append({"technique": name, "config": config, "overrides": overrides,
                     "calls_per_query": round(usage.calls / len(examples), 2),
                     # what the engines were asked this run (cancelled first-finish samples included;
                     # cache hits not): a rerun over the cache shows less
                     "engine_tokens_per_query": {"prompt": round(spent.prompt_tokens / len(examples), 1),
                                                 "completion": round(spent.completion_tokens / len(examples), 1)},
                     "accuracy": round(est.mean, 3), "ci": [round(est.low, 3), round(est.high, 3)],
                     "coverage": round(cov.mean, 3) if cov is not None else None,
                     "fallbacks": usage.fallbacks, "fallback_rates": rates,
                     "failed": done.failed, "wall_s": round(done.wall_s, 1)})
        print(json.dumps(rows[-1], ensure_ascii=False), file=sys.stderr, flush=True)
    return {"dataset": dataset, "examples": len(examples), "seed": seed, "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="arithmetic")
    ap.add_argument("--limit", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", action="append", default=[], help="rows whose name contains this (repeatable)")
    args = ap.parse_args()
    print(json.dumps(measure(args.dataset, args.limit, args.seed, args.only), indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
