"""The report's statistics on data with known distributions (fixed RNG): intervals cover, true
differences of a few standard errors are found, null differences are not."""

import math

import numpy as np
import pytest

from fcn_ablation.evaluation import stats


def test_the_t_interval_covers_a_known_mean_at_its_nominal_rate():
    rng = np.random.default_rng(0)
    covered = 0
    for _ in range(1000):
        ci = stats.t_interval(rng.normal(0.8, 0.02, 5))
        covered += ci.low <= 0.8 <= ci.high
    assert 0.93 <= covered / 1000 <= 0.97
    one = stats.t_interval([0.7])
    assert one.mean == 0.7 and math.isnan(one.low) and one.n == 1  # one seed: no interval
    assert stats.t_interval([1, 2, 3, 4]).low == pytest.approx(
        2.5 - 3.182446305284263 * np.std([1, 2, 3, 4], ddof=1) / 2
    )


def test_paired_differences_use_the_seeds_both_rows_have():
    d = stats.paired_interval({0: 0.9, 1: 0.8, 2: 0.7}, {0: 0.85, 1: 0.76, 7: 0.1})
    assert d.n == 2 and d.mean == pytest.approx((0.05 + 0.04) / 2)


def test_holm_adjusts_in_step_down_order_and_skips_missing_tests():
    adjusted = stats.holm([0.01, 0.04, 0.03, np.nan, 0.005])
    np.testing.assert_allclose(adjusted, [0.03, 0.06, 0.06, np.nan, 0.02])
    assert stats.holm([0.5])[0] == 0.5 and stats.holm([0.6, 0.6])[0] == 1.0


def _per_image(rng, seeds, images, shift):
    """Per seed: (variant, baseline) per-image scores; the variant differs by `shift`."""
    base_level = rng.normal(0.8, 0.1, images)  # images differ in difficulty
    pairs = []
    for _ in range(seeds):
        base = base_level + rng.normal(0, 0.05, images)
        var = base_level + shift + rng.normal(0, 0.05, images)
        pairs.append((var, base))
    return pairs


def test_the_permutation_test_finds_a_true_difference_and_holds_its_level_under_the_null():
    rng = np.random.default_rng(1)
    se = 0.05 * math.sqrt(2) / math.sqrt(3 * 60)  # of the pooled mean difference: 3 seeds x 60 images
    observed, p = stats.permutation_test(_per_image(rng, 3, 60, -3 * se), "score", 2000, rng)
    assert observed == pytest.approx(-3 * se, abs=1.5 * se) and p < 0.01
    rejected = sum(stats.permutation_test(_per_image(rng, 3, 60, 0.0), "score", 500, rng)[1] < 0.05 for _ in range(200))
    assert rejected / 200 <= 0.09  # nominal 5 %


def test_the_permutation_test_on_curves_compares_the_max_of_the_mean_curves():
    rng = np.random.default_rng(2)
    t = np.linspace(0, 1, 256)
    shape = 1 - (t - 0.5) ** 2 * 4  # peaks at the middle threshold
    base = [np.clip(0.85 * shape + rng.normal(0, 0.05, (50, 1)), 0, 1) for _ in range(2)]
    better = [b + 0.03 + rng.normal(0, 0.01, (50, 1)) for b in base]
    observed, p = stats.permutation_test(list(zip(better, base)), "max", 2000, rng)
    expected = np.mean([v.mean(0).max() - b.mean(0).max() for v, b in zip(better, base)])
    assert observed == pytest.approx(expected) and p < 0.001
    same = [b + rng.normal(0, 0.01, (50, 1)) for b in base]
    assert stats.permutation_test(list(zip(same, base)), "max", 2000, rng)[1] > 0.05


def test_the_signed_rank_test_of_per_round_times():
    rng = np.random.default_rng(3)
    base = 1 + rng.normal(0, 0.02, 10)
    assert stats.signed_rank_p(0.8 * base, base) < 0.01
    assert stats.signed_rank_p(base + rng.normal(0, 0.02, 10), base) > 0.05
    assert math.isnan(stats.signed_rank_p([1.0], [1.0]))


def test_two_variants_head_to_head_pair_their_times_within_rounds():
    import pandas as pd

    from fcn_ablation.commands.compare import compare
    from fcn_ablation.errors import DataError

    rng = np.random.default_rng(0)
    drift = rng.uniform(1, 3, 10)  # a machine whose speed drifts between rounds: pairing cancels it
    raw = pd.DataFrame(
        [{"round": r, "variant": v, "seconds": drift[r] * k} for r in range(10) for v, k in (("x", 0.5), ("y", 1.0))]
    )
    c = compare(raw, "x", "y")
    assert c["ratio"] == pytest.approx(0.5) and c["ci_low"] == pytest.approx(0.5) and c["ci_high"] == pytest.approx(0.5)
    assert (c["rounds"], c["a_faster_rounds"]) == (10, 10) and c["p"] == pytest.approx(2 / 2**10)
    with pytest.raises(DataError, match="no variant 'z'"):
        compare(raw, "z", "y")
