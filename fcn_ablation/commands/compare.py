"""`fcn-ablation-compare RAW_CSV A B`: two variants of one interleaved benchmark, head to head.

A report's time column compares every variant with the baseline. Whether one variant is faster
than another (the width search's answer against the fastest Table 2 row, say) is a question of
its own: answered here from the same rounds, pairing A's and B's times within each round (the
rounds rotate the order, so drift hits both alike): the median per-round ratio A/B with its
bootstrap 95 % CI, the rounds A was faster in, and the Wilcoxon signed-rank p-value.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from fcn_ablation.errors import DataError, exit_on_user_error
from fcn_ablation.evaluation.stats import bootstrap_median_ci, signed_rank_p


def compare(raw: pd.DataFrame, a: str, b: str, seed: int = 0) -> dict:
    """Head-to-head statistics of variants `a` and `b` from a benchmark's per-round times."""
    times = raw.pivot(index="round", columns="variant", values="seconds")
    for name in (a, b):
        if name not in times:
            raise DataError(f"no variant {name!r} in the benchmark; it has {', '.join(times.columns)}")
    ratio = (times[a] / times[b]).to_numpy()
    low, high = bootstrap_median_ci(ratio, np.random.default_rng(seed))
    return {"a": a, "b": b, "rounds": len(ratio), "ratio": float(np.median(ratio)), "ci_low": low, "ci_high": high,
            "a_faster_rounds": int((ratio < 1).sum()), "p": signed_rank_p(times[a].to_numpy(), times[b].to_numpy())}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0].split(": ", 1)[1])
    parser.add_argument("raw", help="a benchmark's raw.csv (per-round times)")
    parser.add_argument("a")
    parser.add_argument("b")
    args = parser.parse_args(argv)
    with exit_on_user_error():
        try:
            raw = pd.read_csv(args.raw)
        except (OSError, ValueError) as err:
            raise DataError(f"{args.raw}: not a benchmark's raw.csv ({err})") from None
        c = compare(raw, args.a, args.b)
    print(f"{c['a']} / {c['b']}: median per-round time ratio {c['ratio']:.3f} (95 % CI {c['ci_low']:.3f} to {c['ci_high']:.3f}), "
          f"{c['a']} faster in {c['a_faster_rounds']} of {c['rounds']} rounds, Wilcoxon signed-rank p = {c['p']:.3g}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
