"""Shortest (first-finish selection): keeps the `top_k` shortest candidates. Short answers
are the ones that finish first, and on reasoning tasks they are right at least as often as long
ones (First Finish Search). No model calls."""

from __future__ import annotations

from dataclasses import replace

from pydantic import Field

from archon_cli.components import COMPONENTS
from archon_cli.components.base import Component, Steps
from archon_cli.components.state import Item, Notes
from archon_cli.config.bounds import MAX_SAMPLES, Int
from archon_cli.config.pipeline import ComponentParams


class ShortestParams(ComponentParams):
    top_k: Int = Field(1, ge=1, le=MAX_SAMPLES)


@COMPONENTS.register("shortest")
class Shortest(Component):
    """Length is counted in characters of the stripped text; ties keep the input order."""

    Params = ShortestParams
    params: ShortestParams

    def calls(self, n_in: int) -> int:
        return 0

    def n_out(self, n_in: int) -> int:
        return min(self.params.top_k, n_in)

    def run(self, item: Item, notes: Notes) -> Steps:
        order = sorted(range(len(item.candidates)), key=lambda i: (len(item.candidates[i].text.strip()), i))
        notes.detail("ranking", [i + 1 for i in order[: self.params.top_k]])
        return replace(item, candidates=tuple(item.candidates[i] for i in order[: self.params.top_k]))
        yield []  # pragma: no cover - makes this a generator like every component
