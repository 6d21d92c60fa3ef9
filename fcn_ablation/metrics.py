"""Saliency metrics as torchmetrics `Metric`s: F-measure (max, mean, adaptive) and MAE.

They follow PySODMetrics (`py_sod_metrics.Fmeasure`, `MAE`), the reference implementation of
the salient-object community, to the bit:
- a predicted map is first quantised to 8 bits, as if saved as a PNG (`round(p * 255)`), then
  min-max normalised per image to [0, 1] (MATLAB's `mapminmax`); a constant map stays as is;
- ground truth is foreground where the 8-bit mask is > 128;
- the F curve uses 256 thresholds t = 0..255 on `floor(255 * map)`, foreground where >= t;
  it is computed per image from histograms and averaged over images; max F and mean F are the
  max and mean of that average curve;
- adaptive F binarises each map at min(2 x its mean, 1);
- beta^2 = 0.3.
States are sums over images, reduced by summation, so the metrics run on any device and sync
across processes.
"""

from __future__ import annotations

import torch
from torchmetrics import Metric

BETA2 = 0.3


def _prepare(pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One image: float map in [0, 1] (or uint8) and mask (uint8 0..255, bool, or {0, 1} float)
    -> min-max normalised float64 map and boolean ground truth."""
    if pred.shape != target.shape:
        raise ValueError(f"prediction {tuple(pred.shape)} and ground truth {tuple(target.shape)} differ in size")
    if pred.dtype != torch.uint8:
        pred = (pred.double().clamp(0, 1) * 255).round()
    pred = pred.double() / 255
    lo, hi = pred.min(), pred.max()
    if hi != lo:
        pred = (pred - lo) / (hi - lo)
    if target.dtype == torch.uint8:
        gt = target > 128
    else:
        gt = target > 0.5
    return pred, gt


def _f(precision: torch.Tensor, recall: torch.Tensor) -> torch.Tensor:
    num = (1 + BETA2) * precision * recall
    den = torch.where(num == 0, torch.ones_like(num), BETA2 * precision + recall)
    return num / den


def _iter_images(preds, targets):
    if isinstance(preds, torch.Tensor) and preds.dim() == 2:
        preds, targets = [preds], [targets]
    return zip(preds, targets, strict=True)


class FMeasure(Metric):
    """Max, mean and adaptive F-measure over a set of images (any sizes, one update per batch)."""

    full_state_update = False
    higher_is_better = True

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.add_state("curve_sum", default=torch.zeros(256, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("adaptive_sum", default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, preds, targets) -> None:
        """`preds`/`targets`: (H, W) tensors, (N, H, W) tensors or lists of (H, W) tensors."""
        for pred, target in _iter_images(preds, targets):
            pred, gt = _prepare(pred, target)
            self.curve_sum += self.f_curve(pred, gt)
            self.adaptive_sum += self.adaptive_f(pred, gt)
            self.count += 1

    @staticmethod
    def f_curve(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        """F at thresholds 255, 254, ..., 0 (PySODMetrics' order) from 256-bin histograms."""
        levels = (pred * 255).to(torch.uint8).long()  # floor, as numpy's astype(uint8)
        fg_hist = torch.bincount(levels[gt], minlength=256).double()
        bg_hist = torch.bincount(levels[~gt], minlength=256).double()
        tp = fg_hist.flip(0).cumsum(0)
        positives = (tp + bg_hist.flip(0).cumsum(0)).clamp(min=1)
        t = max(int(gt.sum()), 1)
        return _f(tp / positives, tp / t)

    @staticmethod
    def adaptive_f(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        threshold = min(2 * pred.mean().item(), 1.0)
        binary = pred >= threshold
        inter = (binary & gt).sum().double()
        if inter == 0:
            return inter
        return _f(inter / binary.sum(), inter / gt.sum())

    def compute(self) -> dict[str, torch.Tensor]:
        curve = self.curve_sum / self.count
        return {"max_f": curve.max(), "mean_f": curve.mean(), "adaptive_f": self.adaptive_sum / self.count}


class MeanAbsoluteError(Metric):
    """Mean over images of the mean absolute difference between normalised map and mask."""

    full_state_update = False
    higher_is_better = False

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.add_state("total", default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, preds, targets) -> None:
        for pred, target in _iter_images(preds, targets):
            pred, gt = _prepare(pred, target)
            self.total += (pred - gt.double()).abs().mean()
            self.count += 1

    def compute(self) -> torch.Tensor:
        return self.total / self.count
