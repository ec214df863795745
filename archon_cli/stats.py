"""Intervals for mean scores and paired comparisons of two systems on the same examples.

- A mean of 0/1 scores gets a Wilson score interval (scipy's `binomtest(...).proportion_ci`):
  it stays honest at the edges, where a bootstrap collapses (0/5 → [0, 0.43], not [0, 0]).
- A mean of graded scores gets a BCa bootstrap interval (scipy's `bootstrap`, 2,000 resamples,
  seeded); where BCa cannot be computed (every value equal) the percentile interval is used.
- A paired difference of 0/1 scores gets Newcombe's hybrid score interval for paired proportions
  (Newcombe 1998, method 10) and an exact McNemar p-value (a binomial test on the discordant
  pairs); of graded scores, a BCa bootstrap interval over the pairs and a paired permutation
  p-value (sign flips). Written by hand: Newcombe's interval (about ten lines of arithmetic on
  two Wilson intervals) is in neither scipy nor statsmodels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

RESAMPLES = 2000  # bootstrap: enough for a stable 95% interval on a few hundred examples
PERMUTATIONS = 9999
SEED = 0  # resampling is seeded: the same scores always print the same interval


@dataclass(frozen=True)
class Estimate:
    mean: float
    low: float
    high: float
    n: int
    method: str = "wilson"

    def __str__(self) -> str:
        if not self.n:
            return "n/a (no scored example)"
        return f"{self.mean:.3f} (95% CI {self.low:.3f}–{self.high:.3f}, n={self.n}, {self.method})"

    def to_dict(self) -> dict[str, float | int | str]:
        return {"mean": self.mean, "low": self.low, "high": self.high, "n": self.n, "method": self.method}


def is_binary(values: Sequence[float]) -> bool:
    return all(v in (0.0, 1.0) for v in values)


def wilson(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    from scipy.stats import binomtest

    ci = binomtest(successes, n).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> Estimate:
    """The mean with its 95% interval: Wilson for 0/1 scores, BCa bootstrap for graded ones."""
    n = len(values)
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, 0, "none")
    mean = sum(values) / n
    if is_binary(values):
        low, high = wilson(int(sum(values)), n, confidence)
        return Estimate(mean, low, high, n, "wilson")
    low, high, method = _bootstrap([list(values)], confidence, paired=False)
    return Estimate(mean, low, high, n, method)


def _bootstrap(samples: list[list[float]], confidence: float, paired: bool) -> tuple[float, float, str]:
    import warnings

    import numpy as np
    from scipy.stats import bootstrap

    def statistic(*xs: np.ndarray, axis: int = -1) -> np.ndarray:
        diff = xs[0] - xs[1] if paired else xs[0]
        return np.asarray(np.mean(diff, axis=axis))

    data = tuple(np.asarray(s, dtype=float) for s in samples)
    if len({float(v) for v in (data[0] - data[1] if paired else data[0])}) == 1:  # BCa is undefined here
        value = float(statistic(*data))
        return value, value, "bootstrap (all equal)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns on a degenerate BCa; the NaN is handled below
        res = bootstrap(data, statistic, paired=paired, vectorized=True, n_resamples=RESAMPLES,
                        confidence_level=confidence, method="BCa", rng=np.random.default_rng(SEED))
    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if math.isnan(low) or math.isnan(high):
        res = bootstrap(data, statistic, paired=paired, vectorized=True, n_resamples=RESAMPLES,
                        confidence_level=confidence, method="percentile", rng=np.random.default_rng(SEED))
        return float(res.confidence_interval.low), float(res.confidence_interval.high), "bootstrap percentile"
    return low, high, "bootstrap BCa"


@dataclass(frozen=True)
class Comparison:
    """System A minus system B on the same n examples."""

    diff: float
    low: float
    high: float
    p_value: float
    n: int
    method: str

    @property
    def significant(self) -> bool:
        return self.p_value < 0.05

    def to_dict(self) -> dict[str, float | int | str]:
        return {"diff": self.diff, "low": self.low, "high": self.high, "p_value": self.p_value, "n": self.n,
                "method": self.method}


def paired_difference(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> Comparison:
    """mean(a) − mean(b) over paired scores, with a 95% interval and a two-sided p-value."""
    if len(a) != len(b):
        raise ValueError("paired scores need the same examples on both sides")
    n = len(a)
    if n == 0:
        return Comparison(math.nan, math.nan, math.nan, math.nan, 0, "none")
    diff = (sum(a) - sum(b)) / n
    if is_binary(a) and is_binary(b):
        low, high = newcombe_paired(a, b, confidence)
        return Comparison(diff, low, high, mcnemar_exact(a, b), n, "Newcombe paired score CI, exact McNemar test")
    low, high, method = _bootstrap([list(a), list(b)], confidence, paired=True)
    return Comparison(diff, low, high, _permutation_p(a, b), n, f"{method} CI over pairs, paired permutation test")


def mcnemar_exact(a: Sequence[float], b: Sequence[float]) -> float:
    from scipy.stats import binomtest

    only_a = sum(1 for x, y in zip(a, b, strict=True) if x > y)
    only_b = sum(1 for x, y in zip(a, b, strict=True) if y > x)
    if only_a + only_b == 0:
        return 1.0
    return float(binomtest(only_a, only_a + only_b, 0.5).pvalue)


def newcombe_paired(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Newcombe (1998) method 10: the difference of two paired proportions from the Wilson
    intervals of each, corrected by the correlation of the pairs."""
    pairs = list(zip(a, b, strict=True))
    n = len(pairs)
    both = sum(1 for x, y in pairs if x and y)
    only_a = sum(1 for x, y in pairs if x and not y)
    only_b = sum(1 for x, y in pairs if y and not x)
    neither = n - both - only_a - only_b
    p1, p2 = (both + only_a) / n, (both + only_b) / n
    l1, u1 = wilson(both + only_a, n, confidence)
    l2, u2 = wilson(both + only_b, n, confidence)
    denominator = (both + only_a) * (neither + only_b) * (both + only_b) * (neither + only_a)
    phi = (both * neither - only_a * only_b) / math.sqrt(denominator) if denominator else 0.0
    d = p1 - p2
    dl = math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    du = math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return max(-1.0, d - dl), min(1.0, d + du)


def _permutation_p(a: Sequence[float], b: Sequence[float]) -> float:
    import numpy as np
    from scipy.stats import permutation_test

    def statistic(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.asarray(np.mean(x - y, axis=axis))

    if all(x == y for x, y in zip(a, b, strict=True)):
        return 1.0
    res = permutation_test((np.asarray(a, float), np.asarray(b, float)), statistic, permutation_type="samples",
                           vectorized=True, n_resamples=PERMUTATIONS, alternative="two-sided",
                           rng=np.random.default_rng(SEED))
    return float(res.pvalue)
