"""The statistics behind every difference a report shows (numpy and scipy only: no torch).

- Over seeds, a row's metric is a mean with a 95 % **t-interval** (few seeds: the percentile
  bootstrap is unreliable below about ten); one seed gives no interval.
- A variant's change versus the baseline is the mean of **seed-matched paired differences**
  (variant seed s minus baseline seed s) with its t-interval.
- Whether the change is real on the test set: a **paired permutation test** per variant. For
  every seed and every test image, the variant's and the baseline's values (a per-image F or E
  curve, or a per-image score) are swapped with probability 1/2; the statistic is the mean over
  seeds of (metric of the variant - metric of the baseline), where the metric is computed over
  images exactly as the table computes it (max of the mean curve for max F). Swapping within a
  (seed, image) pair keeps the pairing, so pooling seeds is sound; p is two-sided, with the
  observed statistic counted among the permutations.
- p-values of one table are corrected for the number of variants with **Holm**'s step-down
  method (family-wise error rate at `alpha`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

LEVEL = 0.95
CI_METHOD = "t-interval over seeds (95 %)"


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float  # NaN with fewer than two values
    high: float
    n: int


def t_interval(values, level: float = LEVEL) -> Interval:
    """Mean of `values` (NaNs dropped) with its Student-t confidence interval."""
    v = np.asarray([x for x in values if x is not None and not math.isnan(x)], dtype=float)
    if len(v) == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    m = float(v.mean())
    if len(v) < 2:
        return Interval(m, math.nan, math.nan, 1)
    half = float(sps.t.ppf((1 + level) / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    return Interval(m, m - half, m + half, len(v))


def paired_interval(variant: dict, baseline: dict, level: float = LEVEL) -> Interval:
    """Mean and t-interval of variant[s] - baseline[s] over the seeds s both have."""
    seeds = sorted(set(variant) & set(baseline))
    return t_interval([variant[s] - baseline[s] for s in seeds], level)


def _statistic(kind: str, values: np.ndarray) -> np.ndarray:
    """The table's metric from per-image values averaged over images (last-but-one axis)."""
    if kind == "max":  # max over thresholds of the mean curve
        return values.max(-1)
    if kind == "mean_curve":
        return values.mean(-1)
    return values[..., 0]  # a per-image score: the mean over images is the metric


def permutation_test(
    pairs: list[tuple[np.ndarray, np.ndarray]], kind: str, permutations: int, rng: np.random.Generator
) -> tuple[float, float]:
    """Two-sided paired permutation test, pooled over seeds.

    `pairs`: one (variant, baseline) per seed, each (images,) or (images, thresholds), rows
    aligned image by image. `kind`: "max" (max of the mean curve), "mean_curve" or "score" (mean
    over images). Returns (observed statistic, p-value)."""
    observed = 0.0
    null = np.zeros(permutations)
    for var, base in pairs:
        var, base = np.asarray(var, dtype=np.float64), np.asarray(base, dtype=np.float64)
        n = len(var)
        diff = (var - base).reshape(n, -1)  # (images, thresholds or 1)
        v_mean, b_mean = var.reshape(n, -1).mean(0), base.reshape(n, -1).mean(0)
        observed += float(_statistic(kind, v_mean) - _statistic(kind, b_mean))
        swaps = rng.random((permutations, n)) < 0.5
        shift = swaps.astype(np.float64) @ diff / n  # (permutations, thresholds): what the swaps move
        null += _statistic(kind, v_mean - shift) - _statistic(kind, b_mean + shift)
    k = len(pairs)
    observed, null = observed / k, null / k
    p = (1 + np.sum(np.abs(null) >= abs(observed) - 1e-12)) / (1 + permutations)
    return observed, float(p)


def holm(pvalues) -> np.ndarray:
    """Holm-adjusted p-values (NaN stays NaN and does not count towards the family)."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, np.nan)
    idx = np.where(~np.isnan(p))[0]
    m = len(idx)
    running = 0.0
    for rank, i in enumerate(idx[np.argsort(p[idx], kind="stable")]):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def signed_rank_p(variant_times, baseline_times) -> float:
    """Two-sided Wilcoxon signed-rank p of per-round paired times (exact for small rounds)."""
    d = np.asarray(variant_times, dtype=float) - np.asarray(baseline_times, dtype=float)
    d = d[~np.isnan(d)]
    if len(d) < 2 or np.all(d == 0):
        return math.nan if len(d) < 2 else 1.0
    return float(sps.wilcoxon(d, alternative="two-sided").pvalue)


def bootstrap_median_ci(
    values, rng: np.random.Generator, n_boot: int = 4000, level: float = 0.95
) -> tuple[float, float]:
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return float(values[0]), float(values[0])
    medians = np.median(rng.choice(values, size=(n_boot, len(values)), replace=True), axis=1)
    lo, hi = np.quantile(medians, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)
