"""Hostile configs (issue 12): each class of malformed file is one clear exit-2 error from
`archon validate`, naming the file and YAML path, in bounded time and memory, writing nothing.

The CLI cases run `archon validate` as a real subprocess, so a hang is caught by a timeout and a
memory blow-up by the child's peak RSS (and an address-space cap that kills a regression before
it eats the machine)."""

from __future__ import annotations

import copy
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from archon_cli.cli.app import main
from archon_cli.config.pipeline import ModelSpec
from archon_cli.config.search import load_search_config
from archon_cli.config.space import parse_space
from archon_cli.errors import ConfigError
from archon_cli.search.preflight import check_search_config
from archon_cli.search.space import count_configurations, enumerate_space, summarize
from tests.search_helpers import TINY_SPACE

ROOT = Path(__file__).resolve().parents[2]
CPU_S = 2.0  # the 2 s, as the child's CPU time: wall time on a loaded machine says little
RSS_MB = 500
AS_CAP = 4 << 30  # a regression dies of MemoryError at 4 GiB instead of taking the machine down


def search_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "t",
        "task": {"dataset": "arithmetic", "size": 20, "search_size": 4, "split_seed": 1},
        "models": {"m": {"model": "fake/scripted"}},
        "space": copy.deepcopy(TINY_SPACE),
        "search": {"trials": 4},
        "runs_dir": "runs",
    }
    for dotted_key, value in changes.items():
        *parents, last = dotted_key.split("/")
        node = data
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return data


def pipeline_text(component: str) -> str:
    return ("name: p\nmodels:\n  m: {model: fake/scripted}\nlayers:\n"
            f"  - [{component}]\n")


def write(text_or_data: str | dict[str, Any], name: str = "bad.yaml") -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        path = tmp / name
        path.write_text(text_or_data if isinstance(text_or_data, str) else yaml.safe_dump(text_or_data))
        return path
    return make


def fifo(tmp: Path) -> Path:
    path = tmp / "pipe.yaml"
    os.mkfifo(path)
    return path


def symlink_loop(tmp: Path) -> Path:
    (tmp / "a.yaml").symlink_to(tmp / "b.yaml")
    (tmp / "b.yaml").symlink_to(tmp / "a.yaml")
    return tmp / "a.yaml"


def long_name(tmp: Path) -> Path:
    return tmp / ("x" * 300 + ".yaml")


def many_unknown_keys(n: int) -> str:
    return "name: p\n" + "".join(f"key{i}: {i}\n" for i in range(n))


LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n" for p, c in zip("abcdef", "bcdefg", strict=True))

WIDE = {"int": [1, 1000]}

# (id, file maker, text the one message must contain besides the file name)
CASES: list[tuple[str, Callable[[Path], Path], str]] = [
    # resource blow-ups
    ("huge-int-range", write(search_data(**{"space/layers/0/component/params/samples": {"int": [1, 10**9]}})),
     "space.layers.0.component.params.samples: 1000000000: Input should be less than or equal to 1000"),
    ("huge-repeat", write(search_data(**{"space/layers/1": {"repeat": {"int": [0, 100000]},
                                                            "component": {"type": "fuser"}}})),
     "space.layers.1.repeat: between 0 and 64 repetitions"),
    ("5MB-of-unknown-keys", write(many_unknown_keys(220_000)), "a config may have at most 262144"),
    ("15k-unknown-keys", write(many_unknown_keys(15_000)), "key0: unknown key"),
    ("fifo", fifo, "not a regular file"),
    ("alias-bomb", write(LAUGHS), "once aliases are expanded"),
    # tracebacks
    # libyaml stops flow nesting at 1000 levels itself ("exceeded maximum nesting depth")
    ("5000-deep-flow-lists", write("layers: " + "[" * 5000 + "]" * 5000 + "\n"), "invalid YAML (line 1, column"),
    ("300-deep-block-mappings", write("".join(f"{'  ' * i}k{i}:\n" for i in range(300)) + "  " * 300 + "v\n"),
     "nested deeper than 100 levels"),
    ("symlink-loop", symlink_loop, "too many levels of symbolic links"),
    ("name-too-long", long_name, "file name too long"),
    ("log-range-from-0", write(search_data(**{"space/layers/0/component/params/samples":
                                              {"int": [0, 4], "log": True}})),
     "space.layers.0.component.params.samples: int range: log: true needs low ≥ 1"),
    ("log-float-range-from-0", write(search_data(**{"space/layers/0/component/params/temperature":
                                                    {"float": [0.0, 1.0], "log": True}})),
     "space.layers.0.component.params.temperature: float range: log: true needs low > 0"),
    ("space-file-name-too-long", write(search_data(space="x" * 5000 + ".yaml")), "space: file 'xxxx"),
    ("dataset-name-too-long", write(search_data(**{"task/dataset": "y" * 5000 + ".jsonl"})),
     "task.dataset: cannot read 'yyyy"),
    # invalid input accepted
    ("duplicate-key", write("name: p\nmodels:\n  m: {model: fake/scripted}\n  m: {model: fake/other}\n"
                            "layers:\n  - [{type: generator, model: m}]\n"), "duplicate key 'm'"),
    ("bool-as-int", write(pipeline_text("{type: generator, model: m, samples: true}")),
     "layers.0.0.samples: Input should be a valid integer"),
    ("bool-as-int-in-search-config", write(search_data(**{"search/trials": True})),
     "search.trials: Input should be a valid integer"),
    ("max-tokens-1e12", write(pipeline_text("{type: generator, model: m, max_tokens: 1.0e+12}")),
     "layers.0.0.max_tokens: Input should be a valid integer"),
    ("max-tokens-too-big", write(pipeline_text("{type: generator, model: m, max_tokens: 100000000}")),
     "layers.0.0.max_tokens: Input should be less than or equal to 131072"),
    ("unknown-param-in-space", write(search_data(**{"space/layers/1/choice/rank/0/component/params":
                                                    {"topk": 1}})),
     "space.layers.1.choice.rank.0.component.params.topk: ranker has no parameter 'topk' (did you mean 'top_k'?)"),
    ("undefined-alias-in-model-choice", write(search_data(**{"space/layers/1/choice/fuse/0/component/model":
                                                             {"choices": ["m", "big"]}})),
     "space.layers.1.choice.fuse.0.component.model: unknown model alias 'big'"),
    ("defaults-key-nobody-takes", write(search_data(**{"space/defaults": {"max_tokenz": 16}})),
     "space.defaults.max_tokenz: no component of the space takes it (did you mean 'max_tokens'?)"),
    ("defaults-value-refused", write(search_data(**{"space/defaults": {"max_tokens": 0}})),
     "space.defaults.max_tokens: 0: generator: Input should be greater than or equal to 1"),
    ("search-size-over-generated-default", write(search_data(**{"task/size": None, "task/search_size": 600})),
     "task.search_size: 600 search examples of the 500 loaded hold nothing out"),
    ("unknown-dataset", write(search_data(**{"task/dataset": "arithmetik"})),
     "task.dataset: unknown dataset 'arithmetik' (did you mean 'arithmetic'?)"),
    ("unknown-scorer", write(search_data(**{"task/scorer": "numerc"})),
     "task.scorer: unknown scorer 'numerc' (did you mean 'numeric'?)"),
    ("search-size-over-size", write(search_data(**{"task/search_size": 50})),
     "task.search_size: 50 search examples of the 20 loaded hold nothing out"),
    ("search-plus-test-over-size", write(search_data(**{"task/test_size": 17})),
     "task: search_size + test_size = 21 > 20 examples loaded"),
    ("nothing-held-out", write(search_data(**{"task/search_size": 20})),
     "task.search_size: 20 search examples of the 20 loaded hold nothing out"),
    ("no-feasible-architecture", write(search_data(**{"space/layers/0": {"component": {"type": "ranker"}}})),
     "space: none of its 5 configurations is a valid pipeline (most often: layers.0.0.type: the first layer "
     "must hold generators"),
    ("nothing-within-budget", write(search_data(**{"budget": {"calls_per_query": 1},
                                                   "space/layers/1": {"component": {"type": "fuser"}}})),
     "budget.calls_per_query: 1, but the cheapest architecture of the space needs 2 calls per query"),
    ("grid-over-a-huge-space", write(search_data(**{"search/sampler": "grid",
                                                    "space/layers/0/component/params/samples": WIDE,
                                                    "space/layers/0/component/params/max_tokens": WIDE})),
     "search.sampler: a grid over 5000000 configurations"),
    # errors hard to read
    ("space-range-reversed", write(search_data(**{"space/layers/0/component/params/samples": {"int": [5, 1]}})),
     "space.layers.0.component.params.samples: int range: low must be ≤ high"),
    ("space-range-misspelt", write(search_data(**{"space/layers/0/component/params/samples": {"innt": [1, 5]}})),
     "space.layers.0.component.params.samples: a range is {int: [lo, hi]}, {float: [lo, hi]} or {choices: [...]}"),
    ("unknown-component-in-space", write(search_data(**{"space/layers/1/choice/fuse/0/component/type": "fusr"})),
     "space.layers.1.choice.fuse.0.component.type: unknown component 'fusr'"),
    ("unknown-key-did-you-mean", write(search_data(search={"trails": 4})),
     "search.trails: unknown key (did you mean 'trials'?)"),
]


def _run_validate(path: Path, cwd: Path) -> tuple[int, str, float, float, float]:
    """(exit code, stderr, CPU seconds, wall seconds, peak RSS MB) of one `archon validate`, from
    that child's own rusage (os.wait4): RUSAGE_CHILDREN would hold the largest child of the whole
    test session, an engine among them."""
    env = os.environ | {"PYTHONPATH": str(ROOT)}

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (AS_CAP, AS_CAP))

    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "archon_cli", "validate", str(path)], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, preexec_fn=cap)
    timer = threading.Timer(60, proc.kill)
    timer.start()
    try:
        assert proc.stderr is not None
        err = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode == -signal.SIGKILL:
        pytest.fail(f"archon validate {path.name} hung")
    return proc.returncode, err, usage.ru_utime + usage.ru_stime, time.monotonic() - start, usage.ru_maxrss / 1024


@pytest.mark.parametrize(("make", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_validate_gives_one_bounded_error(tmp_path: Path, make: Callable[[Path], Path], expected: str) -> None:
    path = make(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, err, cpu, wall, rss_mb = _run_validate(path, tmp_path)
    assert code == 2, err
    assert "Traceback" not in err
    flat = " ".join(err.split())
    assert expected in flat, err
    assert str(path)[:60] in flat  # the file is named (a too-long name is shortened)
    assert err.count("error:") == 1 and len(err.splitlines()) <= 20, err
    assert cpu < CPU_S, f"{cpu:.2f} s CPU ({wall:.2f} s wall)"
    assert rss_mb < RSS_MB, f"{rss_mb:.0f} MB"
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written, no run dir


def test_a_huge_space_is_counted_not_enumerated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Four params of 1000 values: 10^12 configurations, counted in closed form."""
    wide = {k: WIDE for k in ("samples", "max_tokens")}
    path = write(search_data(**{"space/layers/0/component/params": wide,
                                "space/layers/1/choice/rank/0/component/params": {"top_k": WIDE,
                                                                                  "max_tokens": WIDE}}))(tmp_path)
    start = time.process_time()
    assert main(["validate", str(path)]) == 0
    assert time.process_time() - start < 30  # the enumeration stops at its limit
    out = " ".join(capsys.readouterr().out.split())
    # 10^6 generator settings × (none + vote + fuse + 10^6 ranker settings)
    assert f"{10**6 * (3 + 10**6)} configurations" in out and "valid among the first 20000 checked" in out


def test_enumeration_takes_ranges_lazily() -> None:
    """{int: [1, 10^9]} is a range object to the enumerator: no list of a billion ints."""
    import tracemalloc

    space = parse_space({"layers": [{"component": {"type": "generator"}},
                                    {"component": {"type": "ranker", "params": {"top_k": {"int": [1, 10**9]}}}}]}, "s")
    models = {"m": ModelSpec(model="fake/scripted")}
    tracemalloc.start()
    try:
        first = [p.params for p in enumerate_space(space, models, limit=50)]
        summary = summarize(space, models, limit=50)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert first[:2] == [{"L1.ranker.top_k": 1}, {"L1.ranker.top_k": 2}]
    assert (summary.size, summary.checked, summary.truncated) == (10**9, 50, True)
    assert count_configurations(space, models) == 10**9
    assert peak < 50 << 20


def test_closed_form_count_matches_the_enumeration() -> None:
    models = {f"m{i}": ModelSpec(model="fake/scripted") for i in range(3)}
    space = parse_space({"layers": [
        {"component": {"type": "generator", "ensemble": {"top_k": {"int": [1, 5]}},
                       "params": {"samples": {"choices": [1, 2]}}}},
        {"name": "moa", "optional": True, "repeat": {"int": [0, 2]},
         "component": {"type": "fuser", "model": {"choices": ["m0", "m1"]}}},
        {"choice": {"a": [], "b": [{"component": {"type": "ranker", "params": {"top_k": {"int": [1, 3]}}}}]}},
    ]}, "s")
    assert count_configurations(space, models) == len(list(enumerate_space(space, models))) == 3 * 2 * 6 * 4


@pytest.mark.parametrize("command", [["run", "-p", "hi"], ["eval", "-d", "arithmetic"]])
def test_run_and_eval_point_a_search_config_to_search(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      command: list[str]) -> None:
    path = write(search_data())(tmp_path)
    assert main([command[0], str(path), *command[1:]]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"{path}: this is a search config: use `archon search" in err
    assert "unknown key" not in err


def test_search_preflight_reports_every_problem_at_once(tmp_path: Path) -> None:
    """The one check `archon search` runs before creating a run dir (cli/search.py calls it)."""
    path = write(search_data(**{"task/dataset": "nope", "space/defaults": {"max_tokenz": 1},
                                "space/layers/1/choice/rank/0/component/params": {"topk": 1}}))(tmp_path)
    with pytest.raises(ConfigError) as err:
        check_search_config(load_search_config(path), path)
    assert [p.split(":")[0] for p in err.value.problems] == [
        "task.dataset", "space.layers.1.choice.rank.0.component.params.topk", "space.defaults.max_tokenz"]
    assert not (tmp_path / "runs").exists()
    check_search_config(load_search_config(write(search_data(), "good.yaml")(tmp_path)))  # a good one passes


def test_long_problem_lists_are_capped() -> None:
    text = str(ConfigError("f.yaml: invalid", [f"k{i}: unknown key" for i in range(220_000)]))
    assert text.splitlines()[-1].strip() == f"and {220_000 - ConfigError.MAX_SHOWN} more"
    assert len(text.splitlines()) == ConfigError.MAX_SHOWN + 2


def test_nested_repeats_stop_at_the_work_budget() -> None:
    """64 × 64 × 64 repeats: each configuration is long, so the enumeration stops by work done."""
    space = parse_space({"layers": [
        {"component": {"type": "generator"}},
        {"repeat": {"int": [1, 64]}, "blocks": [
            {"repeat": {"int": [1, 64]}, "blocks": [
                {"repeat": {"int": [1, 64]}, "component": {"type": "fuser", "params": {"max_tokens": WIDE}}}]}]},
    ]}, "s")
    start = time.process_time()
    summary = summarize(space, {"m": ModelSpec(model="fake/scripted")})
    assert time.process_time() - start < 30
    assert summary.truncated and summary.checked < 20000 and summary.size == 64**3 * 1000
    assert summary.calls_max is not None and summary.calls_max <= 1 + 256  # a walk stops at 256 layers


def test_deeply_nested_jsonl_row_is_a_dataset_error(tmp_path: Path) -> None:
    from archon_cli.errors import DatasetError
    from archon_cli.tasks.files import load_file

    path = tmp_path / "d.jsonl"
    path.write_text('{"input": "q", "reference": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    with pytest.raises(DatasetError, match=r"d.jsonl:1: JSON nested too deeply"):
        load_file(path)


def test_a_space_file_without_models_validates_with_stand_ins(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Its aliases come from the search config that uses it: not an 'undefined alias' on its own."""
    path = write("layers:\n  - component: {type: generator, model: big}\n"
                 "  - component: {type: fuser, model: {choices: [big, small]}}\n")(tmp_path)
    assert main(["validate", str(path)]) == 0
    assert "2 configurations, 2 valid" in " ".join(capsys.readouterr().out.split())
