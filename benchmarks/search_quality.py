"""Search quality over a recorded landscape: does the search find the best architecture, and
for how little? The project's real search loop (samplers, seed architectures, halving, budgets,
duplicates) runs over the table of benchmarks/landscape/ through a table executor, no engine,
for each strategy × seed, at a token budget of a fraction of evaluating everything. Prints JSON.

    python benchmarks/search_quality.py [--table benchmarks/landscape/arithmetic] [--seeds 30] \
        [--search-examples 50] [--budget-fraction 0.1]

"tied with best": the pick is not significantly worse than the landscape's best on the held-out
examples (paired test at 0.05, stats.paired_difference); regret = best held-out accuracy − the
pick's held-out accuracy; evals to tied: trials finished until the search's incumbent was tied.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # benchmarks.landscape, when run as a script

STRATEGIES: dict[str, dict[str, Any]] = {
    "random": {"sampler": "random", "seed_architectures": False},
    "tpe": {"sampler": "tpe", "seed_architectures": False},
    "greedy": {"sampler": "greedy", "seed_architectures": False},  # Archon's axis-by-axis search
    "default": {},  # the product's defaults: TPE, seed architectures, the config's halving
}


def load_table(base: Path) -> tuple[dict[str, Any], Any]:
    import pandas as pd

    meta = json.loads(base.with_suffix(".json").read_text(encoding="utf-8"))
    return meta, pd.read_csv(base.with_suffix(".csv.gz"), dtype={"example": str})


def run_strategy(name: str, overrides: dict[str, Any], seed: int, meta: dict[str, Any], task: Any,
                 budget_tokens: int, work: Path, table: Any) -> dict[str, Any]:
    """One search over the table; its pick and the incumbent after each improvement."""
    from archon_cli.components.validate import load_pipeline
    from archon_cli.config.search import parse_search_config
    from archon_cli.runs import RunDir
    from archon_cli.search.loop import run_search
    from archon_cli.search.results import complete_rows, pick, trial_rows
    from archon_cli.search.study import open_study
    from benchmarks.landscape.table_executor import TableExecutor, layers_key

    search = {"trials": 10**4, "seed": seed, "fidelity": {"rungs": [16]}, "verdict": {"enabled": False}} | overrides
    data = {"name": f"{name}-{seed}", "task": task.model_dump(), "space": meta["space"],
            "budget": {"total_tokens": budget_tokens}, "search": search, "execution": {"cache": "off"}}
    cfg = parse_search_config(data, Path("search_quality.yaml"))
    run = RunDir.create(work, cfg.name)
    run_search(cfg, run, TableExecutor(table), resume=False)
    rows = trial_rows(open_study(run, cfg), cfg)

    def key_of(number: int) -> str:
        return layers_key(load_pipeline(run.trial_dir(number) / "pipeline.yaml"))

    incumbents, top = [], -1.0  # (trials finished, configuration) at each improvement
    for i, r in enumerate(sorted(complete_rows(rows), key=lambda r: r["number"]), 1):
        if r["accuracy"] > top:
            top = r["accuracy"]
            incumbents.append((i, key_of(r["number"])))
    return {"pick": key_of(pick(rows, "best")["number"]), "incumbents": incumbents}


def measure(table: Path, seeds: int, search_examples: int, budget_fraction: float) -> dict[str, Any]:
    from archon_cli.config.search import TaskConfig
    from archon_cli.search.split import split
    from archon_cli.stats import paired_difference
    from archon_cli.tasks.loading import load_task
    from benchmarks.landscape.table_executor import config_key

    meta, frame = load_table(table)
    task = TaskConfig(dataset=meta["dataset"], size=len(meta["examples"]), seed=meta["seed"],
                      search_size=search_examples, split_seed=0)
    examples, _ = load_task(task.dataset, None, limit=task.size, seed=task.seed)
    search_split, held_out = split(examples, task)
    search_ids, held_ids = [ex.id for ex in search_split], [ex.id for ex in held_out]
    scores = {(int(r.config), str(r.example)): float(r.score) for r in frame.itertuples()}
    keys = {config_key(c["layers"]): c["config"] for c in meta["configs"]}
    held = {cid: [scores[(cid, e)] for e in held_ids] for cid in keys.values()}
    accuracy = {cid: sum(v) / len(v) for cid, v in held.items()}
    best = max(accuracy, key=lambda c: accuracy[c])
    on_search = frame[frame["example"].isin(search_ids)]
    exhaustive = int((on_search["prompt_tokens"] + on_search["completion_tokens"]).sum())
    budget = max(1, int(budget_fraction * exhaustive))

    def tied(cid: int) -> bool:
        return cid == best or not paired_difference(held[best], held[cid]).significant

    single = [c["config"] for c in meta["configs"] if c["architecture"].startswith("1× ")
              and c["architecture"].endswith(" T0")]
    out: dict[str, Any] = {"landscape": {
        "configs": len(meta["configs"]), "examples": len(examples), "heldout_examples": len(held_ids),
        "best": meta["configs"][best]["architecture"], "best_heldout": accuracy[best],
        "single_call_heldout": accuracy[single[0]] if single else None, "exhaustive_engine_tokens": exhaustive},
        "budget_fraction": budget_fraction, "strategies": {}}
    # (configuration key, example) → score and spend, built once for every search
    by_config = {c["config"]: config_key(c["layers"]) for c in meta["configs"]}
    table = {(by_config[int(r.config)], str(r.example)): (float(r.score), int(r.calls), int(r.prompt_tokens),
                                                          int(r.completion_tokens)) for r in frame.itertuples()}
    with tempfile.TemporaryDirectory() as tmp:
        for name, overrides in STRATEGIES.items():
            regrets, tied_flags, evals = [], [], []
            for seed in range(seeds):
                result = run_strategy(name, overrides, seed, meta, task, budget, Path(tmp) / name, table)
                cid = keys[result["pick"]]
                regrets.append(accuracy[best] - accuracy[cid])
                tied_flags.append(tied(cid))
                evals += [n for n, key in result["incumbents"] if tied(keys[key])][:1]
            out["strategies"][name] = {
                "tied_with_best_fraction": sum(tied_flags) / len(tied_flags),
                "mean_heldout_regret": statistics.fmean(regrets),
                "median_evals_to_tied": statistics.median(evals) if evals else None}
    s = out["strategies"]
    random_regret = s["random"]["mean_heldout_regret"]
    out["default_vs_random_regret_ratio"] = s["default"]["mean_heldout_regret"] / random_regret if random_regret \
        else None
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--table", type=Path, default=HERE / "landscape" / "arithmetic")
    ap.add_argument("--seeds", type=int, default=30)
    ap.add_argument("--search-examples", type=int, default=50)
    ap.add_argument("--budget-fraction", type=float, default=0.1)
    args = ap.parse_args()
    print(json.dumps(measure(args.table, args.seeds, args.search_examples, args.budget_fraction), indent=1))


if __name__ == "__main__":
    main()
