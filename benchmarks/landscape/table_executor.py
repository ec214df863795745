"""A TrialExecutor that looks trials up in a recorded landscape instead of calling an engine.

The landscape is a table with one row per (configuration, example): score, calls, prompt and
completion tokens, as recorded on the real engine. A trial's spec is matched to its
configuration by its layers; the real trial body (`run_trial`: calls budget, rungs, noise-aware
halving) runs over the table, so the search loop, samplers, seeds, budgets and duplicates are
the product's own. Used by the search-quality benchmark; ~50 lines by design.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from typing import Any

from archon_cli.config.pipeline import PipelineSpec
from archon_cli.evaluate import Evaluation
from archon_cli.llm.usage import Usage
from archon_cli.pipeline import ExampleResult
from archon_cli.search.executors import Finished, TrialExecutor
from archon_cli.search.objective import EvaluateChunk, TrialJob, TrialProgress, run_trial
from archon_cli.tasks.base import Example

# (configuration key, example id) → (score, calls, prompt tokens, completion tokens)
Table = dict[tuple[str, str], tuple[float, int, int, int]]


def config_key(layers: Any) -> str:
    """What identifies a configuration: its layers (the name and model table do not count), with
    unset (None) params left out, so a param added since the table was recorded changes nothing."""
    def unset_dropped(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: unset_dropped(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [unset_dropped(v) for v in value]
        return value

    return json.dumps(unset_dropped(layers), sort_keys=True)


def layers_key(spec: PipelineSpec) -> str:
    return config_key(spec.to_yaml_data()["layers"])


class TableExecutor(TrialExecutor):
    def __init__(self, table: Table, slots: int = 1) -> None:
        self.table, self.slots = table, slots
        self._pending: dict[int, TrialJob] = {}

    def submit(self, job: TrialJob) -> None:
        self._pending[job.number] = job

    def _lookup(self, spec: PipelineSpec) -> EvaluateChunk:
        key = layers_key(spec)

        async def evaluate(chunk: Sequence[Example], on_done: Callable[[ExampleResult], None]) -> Evaluation:
            results, scores = [], []
            for ex in chunk:
                score, calls, prompt, completion = self.table[(key, ex.id)]
                result = ExampleResult(ex.id, "", usage=Usage(calls=calls, prompt_tokens=prompt,
                                                               completion_tokens=completion))
                on_done(result)
                results.append(result)
                scores.append(score)
            return Evaluation(results, list(scores))

        return evaluate

    def wait(self, timeout: float) -> list[Finished]:
        jobs, self._pending = list(self._pending.values()), {}
        return [Finished(job, asyncio.run(run_trial(job, None, evaluate=self._lookup(job.spec)))) for job in jobs]

    def progress(self) -> dict[int, TrialProgress]:
        return {n: TrialProgress(n, len(job.examples)) for n, job in self._pending.items()}

    def cancel_all(self) -> list[TrialProgress]:
        cut, self._pending = list(self.progress().values()), {}
        return cut
