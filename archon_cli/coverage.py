"""Coverage diagnostics: how often the first layer's candidates hold a right answer.

Coverage is the share of examples where any candidate is correct by the scorer (for graded
scorers, the mean of the best candidate's score): the accuracy a perfect selector would reach,
so the gap to the pipeline's accuracy is the selector's headroom. Repeated sampling's coverage
grows roughly log-linearly in the number of samples while majority vote plateaus (Brown et
al. 2024, "Large Language Monkeys"); `scale_curve` measures both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from archon_cli.components.majority_vote import vote_order
from archon_cli.config.pipeline import PipelineSpec
from archon_cli.errors import ConfigError
from archon_cli.tasks.base import Example, ScoreError, Scorer

# Scores per example, one per candidate; None where a candidate could not be scored.
CandidateScores = list[list[float | None]]


def score_candidates(examples: Sequence[Example], candidates: Sequence[Sequence[str] | None],
                     scorer: Scorer) -> CandidateScores:
    """Every candidate scored, in one batch; identical texts of an example are scored once."""
    unique = [list(dict.fromkeys(texts or ())) for texts in candidates]
    pairs = [(ex, text) for ex, texts in zip(examples, unique, strict=True) for text in texts]
    flat = iter(scorer.score_many(pairs))
    by_text = [{text: _value(next(flat)) for text in texts} for texts in unique]
    return [[scores[t] for t in (texts or ())] for scores, texts in zip(by_text, candidates, strict=True)]


def _value(score: float | ScoreError) -> float | None:
    return None if isinstance(score, ScoreError) else score


def best(scores: Sequence[float | None]) -> float:
    """An example's coverage: its best candidate's score (0 without a scored candidate)."""
    return max((s for s in scores if s is not None), default=0.0)


@dataclass(frozen=True)
class ScalePoint:
    samples: int
    coverage: float
    majority_vote: float


def scale_curve(candidates: Sequence[Sequence[str] | None], scores: CandidateScores, samples: Sequence[int],
                groups: int = 1) -> list[ScalePoint]:
    """Coverage and majority-vote accuracy of the first n samples, for each n in `samples`.

    Each example's candidates are `groups` runs of equal length (one per generator of an
    ensemble), and n samples means the first n of each, so a larger n always extends a smaller
    one: coverage cannot fall as n grows."""
    points = []
    for n in samples:
        cov = vote = 0.0
        for texts, sc in zip(candidates, scores, strict=True):
            texts = list(texts or ())
            per = len(texts) // groups if groups else 0
            keep = [g * per + i for g in range(groups) for i in range(min(n, per))]
            cov += best([sc[i] for i in keep])
            if keep:
                winner = keep[vote_order([texts[i] for i in keep])[0]]
                vote += sc[winner] or 0.0
        total = max(1, len(candidates))
        points.append(ScalePoint(n, cov / total, vote / total))
    return points


def log_linear_fit(points: Sequence[ScalePoint]) -> tuple[float, float]:
    """(intercept, slope) of coverage ≈ intercept + slope · ln(samples), least squares."""
    import numpy as np

    xs = np.log([p.samples for p in points])
    ys = np.array([p.coverage for p in points])
    if len(points) < 2:
        return float(ys.mean()) if len(ys) else math.nan, 0.0
    slope, intercept = np.polyfit(xs, ys, 1)
    return float(intercept), float(slope)


def first_layer_spec(spec: PipelineSpec, samples: int) -> PipelineSpec:
    """The pipeline's first layer alone, every generator drawing `samples` samples (numbered
    0..samples-1, so a run with fewer samples is served from the cache)."""
    layer = spec.layers[0]
    others = sorted({c.type for c in layer} - {"generator"})
    if others:
        raise ConfigError(f"scale needs a first layer of generators (found {', '.join(others)})")
    return spec.model_copy(update={"layers": [[c.model_copy(update={"samples": samples}) for c in layer]]})


def plot_scale(points: Sequence[ScalePoint], fit: tuple[float, float], path: Path, title: str) -> None:
    """Coverage and majority-vote accuracy against samples (log x axis), with the coverage fit."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    xs = [p.samples for p in points]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(xs, [p.coverage for p in points], "o-", label="coverage (any sample correct)")
    ax.plot(xs, [p.majority_vote for p in points], "s-", label="majority vote")
    grid = np.geomspace(min(xs), max(xs), 50)
    intercept, slope = fit
    ax.plot(grid, intercept + slope * np.log(grid), "--", color="gray",
            label=f"fit: {intercept:.3f} + {slope:.3f}·ln n")
    ax.set_xscale("log", base=2)
    ax.set_xticks(xs, [str(x) for x in xs])
    ax.set_xlabel("samples per question")
    ax.set_ylabel("share of questions")
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
