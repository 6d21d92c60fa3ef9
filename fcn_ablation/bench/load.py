"""Whether a benchmark ran on a quiet machine: the rules every benchmark applies to its own
measurements (other processes' CPU time, the spread of the matmul that measures the device's
ceiling) and the one line a report prints about it. Torch-free: the report reads it too."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fcn_ablation.bench.header import BenchHeader

# A benchmark is flagged as taken under load when other processes used more than this fraction
# of the machine's CPU time while it ran, or when the matmul's slowest round took this many times
# its fastest (contention shows there first) -- the latter only for rounds long enough that the
# spread is not the timer's and the scheduler's jitter: a 256x256 product takes under a
# millisecond on a CPU, and its slowest of five rounds is 1.3 to 2.2 times its fastest on a
# quiet machine (the search's benchmarks, other load below 1 %).
LOAD_LIMIT = 0.10
SPREAD_LIMIT = 1.30
SPREAD_MIN_ROUND_S = 0.005


def under_load(other_load: float | None, spread: float, matmul_median_s: float) -> bool:
    """Whether a benchmark was taken on a machine that was not quiet (see the limits above)."""
    return bool((other_load or 0) > LOAD_LIMIT or (matmul_median_s >= SPREAD_MIN_ROUND_S and spread > SPREAD_LIMIT))


def load_note(header: BenchHeader) -> str:
    """One line on how quiet the machine was while a benchmark ran, from its header."""
    other_s = "unknown" if header.other_load is None else f"{100 * header.other_load:.0f} % of the CPU"
    text = f"other processes took {other_s} during the benchmark; the matmul's slowest round took {header.matmul_spread:.2f}x its fastest"
    if header.matmul_median_s < SPREAD_MIN_ROUND_S:  # NaN (not recorded): not short
        text += f" (rounds of {1e3 * header.matmul_median_s:.2f} ms: too short for the spread to tell load)"
    if header.under_load:
        return f"**Benchmark taken under load** ({text}): absolute times are inflated; the per-round ratios are more robust, but rerun it on a quiet machine."
    if header.matmul_median_s < SPREAD_MIN_ROUND_S:  # the spread tells nothing: no claim of a quiet device
        return f"Load judged by other processes' CPU time only ({text})."
    return f"Quiet machine ({text})."
