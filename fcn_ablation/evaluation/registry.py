"""The one registry of the saliency metrics: every metric's name, label, direction, the per-image
array it is computed from and the statistic a paired test takes of it; the headline; the mark of
a change the tests cannot tell from zero. The job logs these names, the record files them, the
tables, paste tables, curves, loggers and benchmarks take their columns and labels from here.
Plain values: every stage from evaluation up reads it, torch-free."""

from __future__ import annotations

from typing import NamedTuple


class Metric(NamedTuple):
    """What the code needs to know of one metric, wherever it shows it."""

    label: str  # a table's header
    array: str  # the per-image array of the record's `.npz` it is computed from
    statistic: str  # what the report's paired test computes from that array: max, mean_curve, score
    lower_is_better: bool = False
    paste: int = 0  # its place among the paste tables' columns (`reporting.paste`), 1 first; 0: not there


# Every metric a record holds, the one registry of them (the job logs them, the tables, curves,
# paste tables and benchmarks take their columns from here).
METRICS = {
    "max_f": Metric("max F", "f_curve", "max", paste=1),
    "mean_f": Metric("mean F", "f_curve", "mean_curve", paste=2),
    "adaptive_f": Metric("adaptive F", "adaptive_f", "score"),
    "max_e": Metric("max E", "e_curve", "max", paste=5),
    "mean_e": Metric("mean E", "e_curve", "mean_curve"),
    "adaptive_e": Metric("adaptive E", "adaptive_e", "score"),
    "s_measure": Metric("S", "s_measure", "score", paste=4),
    "weighted_f": Metric("weighted F", "weighted_f", "score", paste=3),
    "mae": Metric("MAE", "mae", "score", lower_is_better=True, paste=6),
}
HEADLINE = "max_f"  # the paper's score: every table's first column, a record's headline, a search's objective
# The curves a report draws, from a test's per-image values (`SaliencyMetrics.per_image`): the mean
# over images of each per-image curve, thresholds 255 down to 0 (PySODMetrics' order): precision
# and recall (the PR curve), F and E over the threshold. Name -> the per-image array.
CURVES = {"precision": "precision_curve", "recall": "recall_curve", "f": "f_curve", "e": "e_curve"}
# The mark of a change the tests cannot tell from zero, in every table.
NOT_SIGNIFICANT = "≈"
