"""The search loop's parallel semantics, against a scripted executor (no engine, no clock) and
the in-process executor with the scripted fake LLM: slots, out-of-order completion, cancel on a
budget, Ctrl-C, duplicates of finished and of in-flight trials, resume."""

from __future__ import annotations

import csv
import json
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from archon_cli.cli.app import main
from archon_cli.config.search import load_search_config
from archon_cli.llm.usage import Usage
from archon_cli.runs import RunDir
from archon_cli.search.executors import Finished, TrialExecutor
from archon_cli.search.loop import run_search
from archon_cli.search.objective import TrialJob, TrialOutcome, TrialProgress
from archon_cli.search.study import open_study
from tests.fakes import FakeLLM
from tests.search_helpers import only_run, search_config


class ScriptedExecutor(TrialExecutor):
    """Job n finishes after `ticks(job)` calls of wait(), scoring `score(job)`; each tick spends
    `tokens_per_tick` engine tokens. `on_wait(self)` runs at every wait (to send a Ctrl-C)."""

    def __init__(self, slots: int, ticks: Callable[[TrialJob], int] = lambda job: 1,
                 score: Callable[[TrialJob], float] = lambda job: 0.5, tokens_per_tick: int = 0,
                 on_wait: Callable[[ScriptedExecutor], None] = lambda ex: None) -> None:
        self.slots, self.ticks, self.score, self.tokens_per_tick, self.on_wait = (
            slots, ticks, score, tokens_per_tick, on_wait)
        self.jobs: dict[int, list[Any]] = {}  # number → [job, ticks left, progress]
        self.max_running = 0
        self.finish_order: list[int] = []
        self.cancelled: list[int] = []

    def submit(self, job: TrialJob) -> None:
        self.jobs[job.number] = [job, self.ticks(job), TrialProgress(job.number, len(job.examples))]
        self.max_running = max(self.max_running, len(self.jobs))

    def wait(self, timeout: float) -> list[Finished]:
        self.on_wait(self)
        done = []
        for number, entry in list(self.jobs.items()):
            job, left, progress = entry
            progress.usage.prompt_tokens += self.tokens_per_tick
            entry[1] = left - 1
            if entry[1] <= 0:
                del self.jobs[number]
                self.finish_order.append(number)
                n = len(job.examples)
                usage = Usage(calls=n, prompt_tokens=progress.usage.prompt_tokens)
                done.append(Finished(job, TrialOutcome("complete", accuracy=self.score(job), n_examples=n,
                                                       calls_per_query=1, usage=usage)))
        return done

    def progress(self) -> dict[int, TrialProgress]:
        return {n: entry[2] for n, entry in self.jobs.items()}

    def cancel_all(self) -> list[TrialProgress]:
        cut = [entry[2] for entry in self.jobs.values()]
        self.cancelled += list(self.jobs)
        self.jobs.clear()
        return cut


def rows(run: RunDir) -> list[dict[str, str]]:
    return list(csv.DictReader(run.trials_csv.open()))


def setup(tmp_path: Path, **kw: Any) -> tuple[Any, RunDir]:
    cfg = load_search_config(search_config(tmp_path, sampler="random", **kw))
    return cfg, RunDir.create(tmp_path / "runs", "t")


def test_slots_are_filled_and_out_of_order_results_land_on_their_trials(tmp_path: Path) -> None:
    cfg, run = setup(tmp_path, trials=6, seed_architectures=False)
    # Even trials take three ticks, odd ones one: trial 1 finishes before trial 0.
    ex = ScriptedExecutor(slots=2, ticks=lambda job: 3 if job.number % 2 == 0 else 1,
                          score=lambda job: job.number / 10)
    status = run_search(cfg, run, ex, resume=False)
    assert status.stop_reason == "trials done" and status.done == 6
    assert ex.max_running == 2
    assert ex.finish_order.index(1) < ex.finish_order.index(0)
    study = open_study(run, cfg)
    for t in study.get_trials(deepcopy=False):
        if t.user_attrs.get("outcome") == "complete":
            assert t.values[0] == pytest.approx(t.number / 10)  # each result on its own trial
    assert status.best_trial == max(int(r["number"]) for r in rows(run) if r["outcome"] == "complete")


def test_a_token_budget_cancels_trials_in_flight_and_counts_what_they_spent(tmp_path: Path) -> None:
    cfg, run = setup(tmp_path, trials=10, budget={"total_tokens": 50}, seed_architectures=False)
    ex = ScriptedExecutor(slots=2, ticks=lambda job: 100, tokens_per_tick=10)
    status = run_search(cfg, run, ex, resume=False)
    assert status.stop_reason is not None and status.stop_reason.startswith("token budget spent")
    assert sorted(ex.cancelled) == [0, 1]
    table = rows(run)
    cut = [r for r in table if r["reason"] == "interrupted"]
    assert len(cut) == 2 and all(r["state"] == "FAIL" for r in cut)
    assert sum(int(r["engine_tokens"]) for r in cut) >= 50  # interrupted trials' spend is recorded
    assert [r["state"] for r in table].count("WAITING") == 2  # both enqueued again for --resume


def test_ctrl_c_cancels_in_flight_trials_and_resume_runs_them_again(tmp_path: Path) -> None:
    cfg, run = setup(tmp_path, trials=5, seed_architectures=False)

    def interrupt_once(ex: ScriptedExecutor) -> None:
        if ex.finish_order and not ex.cancelled and all(left > 1 for _, left, _ in ex.jobs.values()):
            os.kill(os.getpid(), signal.SIGINT)  # two trials in flight, neither done at this tick

    ex = ScriptedExecutor(slots=2, ticks=lambda job: 2 + 3 * job.number, on_wait=interrupt_once)
    with pytest.raises(KeyboardInterrupt):
        run_search(cfg, run, ex, resume=False)
    assert len(ex.cancelled) == 2
    study = open_study(run, cfg)
    assert study.user_attrs["stop_reason"] == "interrupted"
    cut = {int(r["number"]): r for r in rows(run) if r["reason"] == "interrupted"}
    assert set(cut) == set(ex.cancelled)

    again = ScriptedExecutor(slots=2)
    status = run_search(cfg, run, again, resume=True)
    assert status.stop_reason == "trials done" and status.done == 5
    retried = {t.user_attrs["retry_of"]: t.params for t in open_study(run, cfg).get_trials(deepcopy=False)
               if "retry_of" in t.user_attrs and t.state.name == "COMPLETE"}
    assert set(retried) == set(ex.cancelled)
    assert all(retried[n] == study.trials[n].params for n in retried)  # the same architectures ran again


def test_duplicates_of_finished_and_of_running_trials_are_told_not_run(tmp_path: Path) -> None:
    space = {"name": "two", "defaults": {"max_tokens": 8}, "layers": [
        {"name": "L0", "component": {"type": "generator", "params": {"samples": {"choices": [1, 2]}}}}]}
    cfg, run = setup(tmp_path, trials=5, space=space, seed_architectures=False)
    ex = ScriptedExecutor(slots=2, ticks=lambda job: 2)
    status = run_search(cfg, run, ex, resume=False)
    assert status.stop_reason is not None and "seen architectures in a row" in status.stop_reason
    table = rows(run)
    evaluated = [r for r in table if r["outcome"] == "complete"]
    assert len(evaluated) == 2 == len(ex.finish_order)  # two architectures, each run once
    dups = [r for r in table if r["outcome"] == "duplicate"]
    assert dups and all(r["accuracy"] == "0.5" for r in dups)
    study = open_study(run, cfg)
    for t in study.get_trials(deepcopy=False):
        if t.user_attrs.get("outcome") == "duplicate" and t.state.name == "PRUNED":  # a twin that finished
            twin = study.trials[t.user_attrs["duplicate_of"]]
            assert t.intermediate_values == {twin.user_attrs["n_examples"]: 0.5}  # TPE sees it where its twin is


def test_optunas_own_front_lists_each_architecture_once_when_duplicates_were_proposed(tmp_path: Path) -> None:
    space = {"name": "two", "defaults": {"max_tokens": 8}, "layers": [
        {"name": "L0", "component": {"type": "generator", "params": {"samples": {"choices": [1, 2]}}}}]}
    cfg, run = setup(tmp_path, trials=5, space=space, seed_architectures=False, objectives=["accuracy", "calls"])
    run_search(cfg, run, ScriptedExecutor(slots=1), resume=False)
    study = open_study(run, cfg)
    dups = [t for t in study.get_trials(deepcopy=False) if t.user_attrs.get("duplicate_of") is not None]
    assert dups and {t.state.name for t in dups} == {"PRUNED"}
    front = study.best_trials  # both architectures score (0.5, 1 call): both on the front, once each
    assert len(front) == 2 and len({tuple(sorted(t.params.items())) for t in front}) == 2
    assert study.metric_names == ["accuracy", "calls_per_query"]


def test_the_study_is_named_after_its_run_and_a_run_with_the_old_name_still_opens(tmp_path: Path) -> None:
    import optuna

    from archon_cli.errors import RunStateError
    from archon_cli.search.results import trial_rows

    cfg, run = setup(tmp_path, trials=2)
    run_search(cfg, run, ScriptedExecutor(slots=1), resume=False)
    study = open_study(run, cfg)
    assert study.study_name == run.path.name and study.metric_names == ["accuracy"]
    assert any(r["seeded_from"] == "single-model" for r in trial_rows(study, cfg))

    # A run from before: its one study is named `archon`, its seed label is the attr `seed`.
    old = optuna.create_study(storage=f"sqlite:///{tmp_path / 'old.db'}", study_name="archon",
                              directions=study.directions)
    for t in study.trials[:2]:  # the two finished (a third, a seed, is enqueued)
        attrs = {("seed" if k == "seeded_from" else k): v for k, v in t.user_attrs.items()}
        old.add_trial(optuna.trial.create_trial(state=t.state, params=t.params, distributions=t.distributions,
                                                values=t.values, user_attrs=attrs))
    (tmp_path / "old.db").replace(run.study_db)
    legacy = open_study(run, cfg)
    seeded = next(t for t in legacy.trials if "seed" in t.user_attrs)
    assert legacy.study_name == "archon" and len(legacy.trials) == 2
    assert main(["show", str(run.path)]) == 0
    assert trial_rows(legacy, cfg)[seeded.number]["seeded_from"] == seeded.user_attrs["seed"] == "single-model"
    cfg = cfg.model_copy(update={"search": cfg.search.model_copy(update={"trials": 3})})
    status = run_search(cfg, run, ScriptedExecutor(slots=1), resume=True)
    assert status.done == 3 and optuna.study.get_all_study_names(run.storage_url) == ["archon"]

    optuna.create_study(storage=run.storage_url, study_name="another")
    with pytest.raises(RunStateError, match="2 studies"):
        open_study(run, cfg)


def test_in_process_workers_run_trials_concurrently_without_ray_and_match_a_sequential_run(
        tmp_path: Path, fake_llm: type[FakeLLM]) -> None:
    import ray

    archs = {}
    for workers in (1, 2):
        work = tmp_path / f"w{workers}"
        work.mkdir()
        assert main(["search", str(search_config(work, sampler="random", trials=6)), "--workers", str(workers)]) == 0
        run = RunDir(only_run(work))
        study = open_study(run, run.load_config())
        counted = [t for t in study.get_trials(deepcopy=False) if t.user_attrs.get("outcome") == "complete"]
        archs[workers] = {t.number: t.params for t in counted}
        spans = [(t.datetime_start, t.datetime_complete) for t in counted]
        overlapping = any(a[0] < b[1] and b[0] < a[1] for i, a in enumerate(spans) for b in spans[i + 1:])
        assert overlapping == (workers == 2)
        assert "ray" not in json.loads(run.env_json.read_text())
    assert not ray.is_initialized()
    assert archs[1] == archs[2] and len(archs[1]) == 6


def test_failures_that_differ_only_after_their_kind_still_stop_the_search(tmp_path: Path) -> None:
    cfg, run = setup(tmp_path, trials=10, seed_architectures=False)

    class Failing(ScriptedExecutor):
        def wait(self, timeout: float) -> list[Finished]:  # each reason names its own trial
            return [Finished(f.job, TrialOutcome("fail", f"KeyError: trial {f.job.number} params"))
                    for f in super().wait(timeout)]

    status = run_search(cfg, run, Failing(slots=1), resume=False)
    assert status.stop_reason is not None and status.stop_reason.startswith("the first 3 trials all failed: KeyError")
    assert len(rows(run)) == 3


def test_a_search_whose_first_trials_all_fail_the_same_way_stops_and_exits_1(
        tmp_path: Path, fake_llm: type[FakeLLM], capsys: pytest.CaptureFixture[str]) -> None:
    cfg, run = setup(tmp_path, trials=10, seed_architectures=False)

    class Failing(ScriptedExecutor):
        def wait(self, timeout: float) -> list[Finished]:
            return [Finished(f.job, TrialOutcome("fail", "LLMCallError: 401 no key")) for f in super().wait(timeout)]

    status = run_search(cfg, run, Failing(slots=1), resume=False)
    assert status.stop_reason == "the first 3 trials all failed: LLMCallError: 401 no key"
    assert status.failure == "LLMCallError: 401 no key"
    assert [r["outcome"] for r in rows(run)] == ["fail"] * 3

    (tmp_path / "cli").mkdir()
    fake_llm.fail_next = 10**6  # every call fails, retries included
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr("archon_cli.llm.client.BACKOFF_S", 0.001)
    try:
        assert main(["search", str(search_config(tmp_path / "cli", trials=10)), "--workers", "2"]) == 1
    finally:
        monkeypatch.undo()
    assert "every trial failed" in capsys.readouterr().err


def test_a_trial_longer_than_the_wall_budget_finishes_on_resume_instead_of_being_cut_again(tmp_path: Path) -> None:
    import time

    cfg, run = setup(tmp_path, trials=3, budget={"wall_s": 0.3}, seed_architectures=False)

    class Slow(ScriptedExecutor):  # every trial takes about 0.8 s of wall time
        def wait(self, timeout: float) -> list[Finished]:
            time.sleep(0.02)
            return super().wait(timeout)

    first = Slow(slots=1, ticks=lambda job: 40)
    status = run_search(cfg, run, first, resume=False)
    assert status.stop_reason is not None and status.stop_reason.startswith("wall-clock") and first.cancelled == [0]
    again = Slow(slots=1, ticks=lambda job: 40)
    status = run_search(cfg, run, again, resume=True)
    assert status.stop_reason is not None and status.stop_reason.startswith("wall-clock")
    assert again.finish_order == [1] and again.cancelled == []  # the retry of trial 0 ran to the end
    retry = open_study(run, cfg).trials[1]
    assert retry.user_attrs["retry_of"] == 0 and retry.state.name == "COMPLETE"
