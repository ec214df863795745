"""Intervals and paired comparisons against hand-computed and published values."""

from __future__ import annotations

import math

import pytest

from archon_cli.stats import mcnemar_exact, mean_interval, newcombe_paired, paired_difference


def test_zero_of_n_gets_a_non_degenerate_wilson_interval() -> None:
    est = mean_interval([0.0] * 5)
    assert est.method == "wilson" and est.mean == 0.0 and est.low == 0.0
    # Wilson upper bound for 0/5: z²/(n+z²) = 3.8415/8.8415
    assert est.high == pytest.approx(1.959964**2 / (5 + 1.959964**2), abs=1e-4)
    full = mean_interval([1.0] * 5)
    assert full.high == 1.0 and full.low == pytest.approx(1 - est.high, abs=1e-9)


def test_wilson_interval_matches_the_closed_form() -> None:
    k, n, z = 7, 20, 1.959964
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    est = mean_interval([1.0] * k + [0.0] * (n - k))
    assert (est.low, est.high) == pytest.approx((centre - half, centre + half), abs=1e-5)


def test_graded_scores_get_a_bca_bootstrap_interval_around_the_mean() -> None:
    values = [0.1, 0.4, 0.35, 0.8, 0.6, 0.2, 0.9, 0.5]
    est = mean_interval(values)
    assert est.method == "bootstrap BCa"
    assert est.low < est.mean < est.high and est.mean == pytest.approx(sum(values) / len(values))
    assert mean_interval(values) == est  # seeded: the same scores print the same interval


def test_newcombe_paired_interval_matches_the_published_example() -> None:
    # Newcombe (1998), paired data 36 / 12 / 2 / 0 (n = 50): method 10 gives 0.0569 to 0.3404.
    a = [1.0] * 36 + [1.0] * 12 + [0.0] * 2
    b = [1.0] * 36 + [0.0] * 12 + [1.0] * 2
    low, high = newcombe_paired(a, b)
    assert (round(low, 4), round(high, 4)) == (0.0569, 0.3404)


def test_paired_difference_of_known_zero_one_vectors() -> None:
    a = [1, 1, 1, 1, 1, 0, 1, 0, 1, 1]
    b = [0, 0, 0, 0, 0, 0, 1, 0, 1, 1]
    cmp = paired_difference([float(x) for x in a], [float(x) for x in b])
    assert cmp.diff == pytest.approx(0.5) and cmp.n == 10
    assert cmp.p_value == pytest.approx(2 * 0.5**5)  # 5 discordant pairs, all one way: exact McNemar
    assert cmp.low < 0.5 < cmp.high and not cmp.significant
    assert mcnemar_exact([1.0] * 3, [1.0] * 3) == 1.0
    tied = paired_difference([1.0, 0.0, 1.0], [1.0, 0.0, 1.0])
    assert tied.diff == 0 and tied.p_value == 1.0 and tied.low < 0 < tied.high  # no certainty from 3 examples


def test_graded_paired_difference_uses_a_permutation_test() -> None:
    a = [0.9, 0.8, 0.7, 0.95, 0.85, 0.9, 0.8, 0.75, 0.9, 0.88]
    b = [0.2, 0.3, 0.1, 0.25, 0.3, 0.2, 0.15, 0.3, 0.2, 0.1]
    cmp = paired_difference(a, b)
    assert cmp.significant and cmp.p_value < 0.01 and cmp.low > 0
    assert "permutation" in cmp.method
    with pytest.raises(ValueError):
        paired_difference([1.0], [1.0, 0.0])
