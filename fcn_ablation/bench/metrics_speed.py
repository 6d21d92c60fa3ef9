"""`fcn-ablation-bench-metrics`: how fast our saliency metrics evaluate, against
PySODMetrics on the same CPU, on the same maps, interleaved.

Every metric (F-measure, E-measure, S-measure, weighted F, MAE) on `--maps` realistic maps of
`--height` x `--width` (soft-edged blobs with noise, as a network's), split into `--rounds`
chunks; each chunk is evaluated by both, in alternating order, so drift of a shared machine hits
both alike. Prints (and writes under `--out`) seconds per implementation, the ratio per round
and overall, and the largest difference of the nine results (they must agree to 1e-6). A
benchmark, not a test: nothing here passes or fails on time.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from fcn_ablation.errors import UserError
from fcn_ablation.evaluation.metrics import SaliencyMetrics


def make_maps(n: int, height: int, width: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`n` 8-bit maps and masks: one to three soft-edged objects, noise, some empty masks."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:height, :width]
    preds, gts = np.zeros((n, height, width), np.uint8), np.zeros((n, height, width), np.uint8)
    for i in range(n):
        soft, mask = np.zeros((height, width)), np.zeros((height, width), bool)
        for _ in range(rng.integers(1, 4)):
            cy, cx = rng.uniform(0, height), rng.uniform(0, width)
            r = rng.uniform(0.05, 0.3) * min(height, width)
            d = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2) - r
            mask |= d < 0
            soft = np.maximum(soft, 1 / (1 + np.exp((d + rng.normal(0, 3)) / rng.uniform(2, 8))))
        noise = rng.normal(0, rng.uniform(0.02, 0.1), (height, width))
        preds[i] = np.clip(255 * (soft + noise), 0, 255).astype(np.uint8)
        gts[i] = np.where(mask if i % 50 else np.zeros_like(mask), 255, 0)  # every 50th mask empty
    return preds, gts


def ours(preds: np.ndarray, gts: np.ndarray, batch: int) -> dict:
    m = SaliencyMetrics()
    p, g = torch.from_numpy(preds), torch.from_numpy(gts)
    for i in range(0, len(p), batch):
        m.update(p[i : i + batch], g[i : i + batch])
    return {k: float(v) for k, v in m.compute().items()}


def reference(preds: np.ndarray, gts: np.ndarray) -> dict:
    try:
        import py_sod_metrics as sod
    except ImportError as err:
        raise UserError("PySODMetrics is not installed: pip install pysodmetrics (or pip install -e '.[dev]')") from err
    f = sod.FmeasureV2({"f": sod.FmeasureHandler(with_dynamic=True, with_adaptive=True, beta=0.3)})
    e, s, wf, mae = sod.Emeasure(), sod.Smeasure(alpha=0.5), sod.WeightedFmeasure(beta=1), sod.MAE()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for pred, gt in zip(preds, gts):
            for metric in (f, e, s, wf, mae):
                metric.step(pred=pred, gt=gt)
    fr, er = f.get_results()["f"], e.get_results()["em"]
    return {"max_f": fr["dynamic"].max(), "mean_f": fr["dynamic"].mean(), "adaptive_f": fr["adaptive"], "max_e": er["curve"].max(),
            "mean_e": er["curve"].mean(), "adaptive_e": er["adp"], "s_measure": s.get_results()["sm"],
            "weighted_f": wf.get_results()["wfm"], "mae": mae.get_results()["mae"]}  # fmt: skip
