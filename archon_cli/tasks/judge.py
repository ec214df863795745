"""`judge` scorer: an LLM grades the output, MT-Bench / AlpacaEval style.

single:   one call per example; the 1–10 rating (with the reference answer in the prompt when the
          example has one) becomes rating / 10.
pairwise: the output against a baseline answer (`meta["baseline"]`, else the reference), asked
          twice with the positions swapped to cancel position bias; win 1, tie 0.5, loss 0,
          averaged over both orders (an inconsistent pair is a tie, as in MT-Bench).
A judgment with no readable verdict raises ScoreError: the example is unscored, not a zero.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from archon_cli.components.prompts import Prompts
from archon_cli.errors import ConfigError, EngineError, LLMCallError
from archon_cli.llm.client import LLMClient
from archon_cli.llm.types import Message, Request
from archon_cli.tasks import SCORERS
from archon_cli.tasks.base import Example, ScoreError, Scorer
from archon_cli.tasks.judge_parsing import parse_preference, parse_rating

_WIN = {"A": 1.0, "B": 0.0, "C": 0.5}  # from the point of view of the answer shown as A


@SCORERS.register("judge")
class JudgeScorer(Scorer):
    name = "judge"
    description = "LLM judge: 1–10 grade (single) or vs a baseline with position swap (pairwise); --judge-model"

    def score(self, example: Example, output: str) -> float:
        (result,) = self.score_many([(example, output)])
        if isinstance(result, ScoreError):
            raise result
        return result

    def score_many(self, pairs: list[tuple[Example, str]]) -> list[float | ScoreError]:
        if not pairs:
            return []
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self._score_all(pairs))
        # Called from inside an event loop (a search): judge on a loop of our own, in a thread.
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, self._score_all(pairs)).result()

    async def _score_all(self, pairs: list[tuple[Example, str]]) -> list[float | ScoreError]:
        opts = self.options
        if opts.judge_client is None:
            raise ConfigError("the judge scorer needs a judge model: pass --judge-model (e.g. local/smollm2-135m)")
        # A fresh client on the same engines and cache: asyncio primitives belong to one event loop.
        base = opts.judge_client
        client = LLMClient(base.models, base.engines, base.cache)
        prompts = Prompts.for_component("judge")
        sem = asyncio.Semaphore(max(1, opts.workers * 4))

        async def ask(system_key: str, user: str) -> str:
            system = prompts.get(system_key) or ""
            req = Request(model=opts.judge_alias, messages=(Message("system", system), Message("user", user)),
                          temperature=0.0, max_tokens=opts.judge_max_tokens)
            async with sem:
                return (await client.complete(req)).text

        async def one(example: Example, output: str) -> float | ScoreError:
            if opts.judge_mode == "pairwise":
                baseline = example.meta.get("baseline") or example.reference
                if not baseline:
                    return ScoreError(f"example {example.id}: pairwise judging needs a baseline answer")
                first, second = await asyncio.gather(
                    ask("system_pairwise", prompts.render("pairwise", question=example.input, answer_a=output,
                                                          answer_b=baseline)),
                    ask("system_pairwise", prompts.render("pairwise", question=example.input, answer_a=baseline,
                                                          answer_b=output)))
                verdicts = parse_preference(first), parse_preference(second)
                if verdicts[0] is None or verdicts[1] is None:
                    bad = first if verdicts[0] is None else second
                    return ScoreError(f"example {example.id}: no verdict in the judgment: {bad[:200]!r}")
                return (_WIN[verdicts[0]] + (1.0 - _WIN[verdicts[1]])) / 2
            key = "single_with_reference" if example.reference else "single"
            text = await ask("system_single", prompts.render(key, question=example.input, answer=output,
                                                             reference=example.reference or ""))
            rating = parse_rating(text)
            if rating is None:
                return ScoreError(f"example {example.id}: no 1–10 rating in the judgment: {text[:200]!r}")
            return rating / 10

        async def guarded(example: Example, output: str) -> float | ScoreError:
            try:
                return await one(example, output)
            except (LLMCallError, EngineError) as exc:  # the judge failed, not the answer
                return ScoreError(f"example {example.id}: judge call failed: {exc}")

        return list(await asyncio.gather(*(guarded(ex, out) for ex, out in pairs)))
