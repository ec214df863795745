"""Executes a pipeline spec over a batch of examples.

Every example runs as its own asyncio task, layer by layer; the components of a layer run
concurrently and each drives its requests through the LLM client, whose per-endpoint
semaphore bounds what is in flight. So all requests of a layer, across all examples, go out
together, and an example never waits for slower examples to finish a layer. A call that
still fails after the client's retries fails only its own example. Sandboxed test runs go to the
sandbox pool (threads here, or Ray tasks) and never block the event loop.

An optional `tracer` (archon_cli/trace.py) is handed, per example and layer, every component's
output, what it decided (`Notes.detail`) and its calls; without one, no trace is built.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from archon_cli.components import COMPONENTS
from archon_cli.components.base import Component
from archon_cli.components.state import ExampleInput, FirstFinished, Item, Notes, ProgramRun, SandboxRun
from archon_cli.config.pipeline import PipelineSpec
from archon_cli.errors import EngineError, LLMCallError
from archon_cli.llm.client import LLMClient
from archon_cli.llm.types import Completion, Request
from archon_cli.llm.usage import CallRecord, Usage
from archon_cli.redact import redact
from archon_cli.sandbox import pool as sandbox_pool
from archon_cli.sandbox import runner as sandbox
from archon_cli.trace import ComponentTrace, LayerTrace, call_dict

Tracer = Callable[[LayerTrace], None]


@dataclass
class ExampleResult:
    id: str
    output: str | None
    error: str | None = None
    usage: Usage = field(default_factory=Usage)
    calls: list[CallRecord] = field(default_factory=list)
    # The first layer's candidates (texts): what coverage (a perfect selector's accuracy) is scored on.
    first_layer: list[str] | None = None


@dataclass(frozen=True)
class CallEstimate:
    """LLM calls per query from the spec alone. `exact` is False when a count depends on the model
    (a verifier's filter) or on the examples (unit tests executed for code tasks): the figure is
    then an upper bound."""

    calls: int
    per_layer: tuple[int, ...]
    exact: bool


class Pipeline:
    def __init__(self, spec: PipelineSpec) -> None:
        self.spec = spec
        self.layers: list[list[tuple[str, Component]]] = [
            [(f"L{li}.{ci}.{params.type}", COMPONENTS.get(params.type)(params)) for ci, params in enumerate(layer)]
            for li, layer in enumerate(spec.layers)
        ]

    def estimate_calls(self) -> CallEstimate:
        n, n_exact, exact, per_layer = 0, True, True, []
        for layer in self.layers:
            per_layer.append(sum(comp.calls(n) for _, comp in layer))
            exact = exact and n_exact and all(comp.exact_calls for _, comp in layer)
            n_exact = n_exact and all(comp.exact_n_out for _, comp in layer)
            n = sum(comp.n_out(n) for _, comp in layer)
        return CallEstimate(sum(per_layer), tuple(per_layer), exact)

    def run(self, examples: Sequence[ExampleInput], client: LLMClient,
            on_done: Callable[[ExampleResult], None] | None = None,
            tracer: Tracer | None = None) -> list[ExampleResult]:
        return asyncio.run(self.arun(examples, client, on_done, tracer))

    async def arun(self, examples: Sequence[ExampleInput], client: LLMClient,
                   on_done: Callable[[ExampleResult], None] | None = None,
                   tracer: Tracer | None = None) -> list[ExampleResult]:
        async def one(ex: ExampleInput) -> ExampleResult:
            result = await self._run_example(ex, client, tracer)
            if on_done is not None:
                on_done(result)
            return result

        return list(await asyncio.gather(*(one(ex) for ex in examples)))

    async def _run_example(self, ex: ExampleInput, client: LLMClient, tracer: Tracer | None = None) -> ExampleResult:
        result = ExampleResult(ex.id, None)
        item = Item(messages=ex.messages, entry_point=ex.entry_point)
        li = 0
        try:
            for li, layer in enumerate(self.layers):
                driven = await asyncio.gather(*(self._drive(li, cid, comp, item, client, result, tracer is not None)
                                                for cid, comp in layer))
                outs = [out for out, _ in driven]
                tests = tuple(dict.fromkeys(t for out in outs for t in out.unit_tests))
                item = replace(item, candidates=tuple(c for out in outs for c in out.candidates), unit_tests=tests)
                if li == 0:
                    result.first_layer = [c.text for c in item.candidates]
                if tracer is not None:
                    tracer(LayerTrace(ex.id, li, tuple(t for _, t in driven if t is not None), item.candidates,
                                      query=item.query if li == 0 else None))
        except (LLMCallError, EngineError) as exc:
            result.error = redact(str(exc))  # persisted in predictions, metrics, the study
            if tracer is not None:
                tracer(LayerTrace(ex.id, li, (), (), query=item.query if li == 0 else None, error=result.error))
            return result
        if item.candidates:
            result.output = item.candidates[0].text  # deterministic final-answer rule
        else:
            result.error = "the last layer produced no candidate"
        return result

    async def _drive(self, layer: int, cid: str, comp: Component, item: Item, client: LLMClient,
                     result: ExampleResult, traced: bool = False) -> tuple[Item, ComponentTrace | None]:
        notes = Notes(keep_details=traced)
        calls: list[dict[str, Any]] = []
        steps = comp.run(item, notes)
        try:
            step = next(steps)
            while True:
                requests: Sequence[Request | SandboxRun | ProgramRun]
                if isinstance(step, FirstFinished):  # answered with the k that finished first
                    requests, answers = await self._first_finished(step, client)
                else:
                    requests, answers = step, await self._fulfil_all(step, client)
                if traced:
                    calls += (call_dict(req, done) for req, done in zip(requests, answers, strict=True))
                for req, done in zip(requests, answers, strict=True):
                    if isinstance(req, Request) and isinstance(done, Completion):
                        rec = CallRecord(result.id, layer, cid, req.model, done.prompt_tokens,
                                         done.completion_tokens, done.latency_s, done.usd, done.cached)
                        result.calls.append(rec)
                        result.usage.add_call(rec)
                step = steps.send([a.text if isinstance(a, Completion) else a for a in answers])
        except StopIteration as stop:
            out: Item = stop.value
            if not traced:
                return out, None
            return out, ComponentTrace(cid, comp.params.type, out.candidates, notes.details,
                                       dict(notes.fallbacks), tuple(calls))
        finally:
            result.usage.add_fallbacks(cid, notes.fallbacks)

    @staticmethod
    async def _first_finished(step: FirstFinished, client: LLMClient
                              ) -> tuple[list[Request], list[Completion | str]]:
        """The first `step.k` requests to finish, in request order (the lowest-numbered when
        several finish at once), and their answers; the rest are cancelled: the client records
        what they spent, and the engine stops writing when the stream closes."""
        tasks = [asyncio.create_task(client.complete(r)) for r in step.requests]
        pending: set[asyncio.Task[Completion]] = set(tasks)
        try:
            while len(tasks) - len(pending) < step.k:
                finished, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    task.result()  # a call that failed for good fails the example
        finally:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        keep = [i for i, t in enumerate(tasks) if t not in pending][:step.k]
        return [step.requests[i] for i in keep], [tasks[i].result() for i in keep]

    @staticmethod
    async def _fulfil_all(requests: Sequence[Request | SandboxRun | ProgramRun],
                          client: LLMClient) -> list[Completion | str]:
        # A TaskGroup cancels the siblings as soon as one call fails for good.
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(_fulfil(r, client)) for r in requests]
        except ExceptionGroup as failed:
            raise failed.exceptions[0] from None
        return [t.result() for t in tasks]


async def _fulfil(request: Request | SandboxRun | ProgramRun, client: LLMClient) -> Completion | str:
    if isinstance(request, Request):
        return await client.complete(request)
    if isinstance(request, ProgramRun):
        ran = await asyncio.wrap_future(sandbox_pool.shared().submit(sandbox.run_python, request.program))
        return ran.stdout.strip() if ran.passed else ""
    passed = await asyncio.wrap_future(sandbox_pool.shared().submit(sandbox.count_passing, request.program,
                                                                    list(request.tests)))
    return str(passed)
