"""The search loop over a recorded table (the search-quality benchmark's executor): the real
trial body and loop, no engine; every result is the table's."""

from __future__ import annotations

import zlib
from pathlib import Path

from archon_cli.components.validate import load_pipeline
from archon_cli.config.pipeline import PipelineSpec
from archon_cli.config.search import load_search_config
from archon_cli.runs import RunDir
from archon_cli.search.loop import run_search
from archon_cli.search.space import enumerate_space
from archon_cli.search.split import split
from archon_cli.search.study import open_study
from archon_cli.tasks.loading import load_task
from benchmarks.landscape.table_executor import Table, TableExecutor, layers_key
from tests.search_helpers import search_config


def test_a_search_over_a_table_reports_the_tables_scores_and_spend(tmp_path: Path) -> None:
    cfg = load_search_config(search_config(tmp_path, sampler="random", trials=8, size=40, search_size=20,
                                           seed_architectures=False, budget={"total_tokens": 10**6}))
    examples, _ = load_task(cfg.task.dataset, None, limit=cfg.task.size, seed=cfg.task.seed)
    search_examples, _ = split(examples, cfg.task)
    table: Table = {}
    for point in enumerate_space(cfg.resolved_space(), cfg.resolved_models()):
        assert point.spec is not None
        key = layers_key(point.spec)
        for ex in examples:  # a fixed pseudo-random score per (configuration, example)
            table[(key, ex.id)] = (float(zlib.crc32(f"{key}{ex.id}".encode()) % 3 == 0), 2, 30, 10)
    run = RunDir.create(tmp_path / "runs", "t")
    status = run_search(cfg, run, TableExecutor(table), resume=False)
    assert status.stop_reason == "trials done" and status.done == 8
    study = open_study(run, cfg)
    for t in study.get_trials(deepcopy=False):
        if t.user_attrs.get("outcome") != "complete":
            continue
        spec_key = layers_key(run_spec(run, t.number))
        expected = sum(table[(spec_key, ex.id)][0] for ex in search_examples) / len(search_examples)
        assert t.values[0] == expected
        assert t.user_attrs["calls"] == 2 * len(search_examples)
        assert t.user_attrs["engine_tokens"] == 40 * len(search_examples)


def run_spec(run: RunDir, number: int) -> PipelineSpec:
    return load_pipeline(run.trial_dir(number) / "pipeline.yaml")


def test_the_greedy_sampler_changes_one_axis_of_the_best_at_a_time(tmp_path: Path) -> None:
    cfg = load_search_config(search_config(tmp_path, sampler="greedy", trials=10, size=40, search_size=20,
                                           seed_architectures=False))
    examples, _ = load_task(cfg.task.dataset, None, limit=cfg.task.size, seed=cfg.task.seed)
    table: Table = {}
    for point in enumerate_space(cfg.resolved_space(), cfg.resolved_models()):
        assert point.spec is not None
        key = layers_key(point.spec)
        for ex in examples:
            table[(key, ex.id)] = (float(zlib.crc32(f"{key}{ex.id}".encode()) % 3 == 0), 2, 30, 10)
    run = RunDir.create(tmp_path / "runs", "t")
    run_search(cfg, run, TableExecutor(table), resume=False)
    trials = [t for t in open_study(run, cfg).get_trials(deepcopy=False) if t.user_attrs.get("outcome") == "complete"]
    assert len(trials) >= 5
    best_so_far = trials[0]
    for t in trials[1:]:  # each proposal differs from the best before it in one decision (plus what depends on it)
        changed = {k for k in set(t.params) | set(best_so_far.params) if t.params.get(k) != best_so_far.params.get(k)}
        assert changed and not {"L0.generator.samples", "L1.choice"} <= changed, (t.params, best_so_far.params)
        if t.values[0] > best_so_far.values[0]:
            best_so_far = t
