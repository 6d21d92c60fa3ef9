"""Saliency metrics as torchmetrics `Metric`s, equal to PySODMetrics (the salient-object
community's reference implementation) to 1e-6, and fast: every metric works on a whole stack of
maps at once (images of one size are stacked; a list of sizes is grouped by size).

Conventions shared by all of them (`prepare`), as in PySODMetrics:
- a predicted map is quantised to 8 bits as if saved as a PNG (`round(p * 255)`), then min-max
  normalised per image to [0, 1] (MATLAB's `mapminmax`); a constant map stays as is;
- ground truth is foreground where the 8-bit mask is > 128 (or > 0.5 for a float/bool mask).

The metrics:
- `FMeasure`: beta^2 = 0.3; the F curve over the 256 thresholds of `floor(255 * map)`, per image,
  averaged over images; max F and mean F are the max and mean of that curve; adaptive F
  thresholds each map at min(2 x its mean, 1). (PySODMetrics' `FmeasureV2` + `FmeasureHandler`.)
- `EMeasure`: enhanced alignment (Fan et al. 2018), the same curve/max/mean/adaptive scheme.
- `SMeasure`: structure measure (Fan et al. 2017), alpha = 0.5.
- `WeightedFMeasure`: weighted F (Margolin et al. 2014), beta = 1.
- `MeanAbsoluteError`: of the normalised map and the mask.

Each keeps its per-image values (curves or scores) as list states, so a run can save them: the
report's paired tests resample images, which needs the value of every image, not just the mean.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import distance_transform_edt
from torchmetrics import Metric

BETA2 = 0.3  # F-measure's beta^2
EPS = float(np.spacing(1))  # MATLAB's eps, as PySODMetrics uses it
ALPHA = 0.5  # S-measure's balance of object and region scores
WF_BETA = 1.0  # weighted F's beta


# ----------------------------------------------------------------------------- preparation
def _groups(preds, targets):
    """(N, H, W) tensors, one (H, W) pair, or lists of (H, W) tensors -> stacks of equal size,
    with each stack's positions in the input order."""
    if isinstance(preds, torch.Tensor) and isinstance(targets, torch.Tensor):
        if preds.dim() == 2:
            preds, targets = preds[None], targets[None]
        if preds.shape != targets.shape:
            raise ValueError(f"prediction {tuple(preds.shape)} and ground truth {tuple(targets.shape)} differ in size")
        yield list(range(len(preds))), preds, targets
        return
    preds, targets = list(preds), list(targets)
    if len(preds) != len(targets):
        raise ValueError(f"{len(preds)} predictions but {len(targets)} ground truths")
    by_shape: dict[tuple, list[int]] = {}
    for i, (p, t) in enumerate(zip(preds, targets)):
        if p.shape != t.shape:
            raise ValueError(f"prediction {tuple(p.shape)} and ground truth {tuple(t.shape)} differ in size")
        by_shape.setdefault(tuple(p.shape), []).append(i)
    for idx in by_shape.values():
        yield idx, torch.stack([preds[i] for i in idx]), torch.stack([targets[i] for i in idx])


def prepare(pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A stack (N, H, W): float maps in [0, 1] (or uint8) and masks (uint8 0..255, bool or {0, 1})
    -> min-max normalised float64 maps and boolean ground truth."""
    if pred.dtype == torch.uint8:
        pred = pred.double()
    else:
        pred = (pred.double().clamp(0, 1) * 255).round()
    pred = pred / 255
    flat = pred.flatten(1)
    lo, hi = flat.min(1).values[:, None, None], flat.max(1).values[:, None, None]
    span = hi - lo
    pred = torch.where(span > 0, (pred - lo) / torch.where(span > 0, span, 1), pred)
    gt = target > 128 if target.dtype == torch.uint8 else target > 0.5
    return pred, gt


def _divide(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """num / den, 0 where den is 0 (PySODMetrics' `divide`)."""
    return torch.where(den != 0, num / torch.where(den != 0, den, 1), torch.zeros_like(num))


def _levels_histograms(pred: torch.Tensor, gt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image, 256-bin histograms of `floor(255 * map)` over foreground and background pixels,
    cumulated from the top: counts at thresholds 255, 254, ..., 0 (PySODMetrics' order)."""
    n = pred.shape[0]
    levels = (pred * 255).to(torch.uint8).long()  # truncation, as numpy's astype(uint8)
    index = (torch.arange(n)[:, None, None] * 2 + gt.long()) * 256 + levels
    hist = torch.bincount(index.flatten(), minlength=n * 512).view(n, 2, 256).double()
    cum = hist.flip(-1).cumsum(-1)
    return cum[:, 1], cum[:, 0]  # pixels >= threshold inside the ground truth, and outside


def _adaptive_counts(pred: torch.Tensor, gt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Foreground pixels (inside, outside the ground truth) at the threshold min(2 x mean, 1)."""
    threshold = (2 * pred.flatten(1).mean(1)).clamp(max=1)[:, None, None]
    binary = pred >= threshold
    return (binary & gt).flatten(1).sum(1).double(), (binary & ~gt).flatten(1).sum(1).double()


# ----------------------------------------------------------------------------- per-image scores
def f_scores(pred: torch.Tensor, gt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image: the F curve (N, 256) and adaptive F (N,)."""
    fg = gt.flatten(1).sum(1).double()

    def f(tp, fp):
        p = _divide(tp, tp + fp)
        r = _divide(tp, fg.view(-1, *([1] * (tp.dim() - 1))).expand_as(tp))
        return _divide((1 + BETA2) * p * r, BETA2 * p + r)

    tp, fp = _levels_histograms(pred, gt)
    return f(tp, fp), f(*_adaptive_counts(pred, gt))


def _enhanced(fg_fg: torch.Tensor, fg_bg: torch.Tensor, gt_fg: torch.Tensor, size: int) -> torch.Tensor:
    """E-measure from the counts of predicted foreground inside / outside the ground truth."""
    pred_fg = fg_fg + fg_bg
    pred_bg = size - pred_fg
    bg_fg = gt_fg - fg_fg
    bg_bg = pred_bg - bg_fg
    mean_pred, mean_gt = pred_fg / size, gt_fg / size
    total = torch.zeros_like(fg_fg)
    for part, a, b in ((fg_fg, 1 - mean_pred, 1 - mean_gt), (fg_bg, 1 - mean_pred, -mean_gt),
                       (bg_fg, -mean_pred, 1 - mean_gt), (bg_bg, -mean_pred, -mean_gt)):  # fmt: skip
        align = 2 * (a * b) / (a**2 + b**2 + EPS)
        total = total + (align + 1) ** 2 / 4 * part
    total = torch.where(gt_fg == 0, pred_bg, torch.where(gt_fg == size, pred_fg, total))
    return total / (size - 1 + EPS)


def e_scores(pred: torch.Tensor, gt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image: the E curve (N, 256) and adaptive E (N,)."""
    size = gt.shape[1] * gt.shape[2]
    gt_fg = gt.flatten(1).sum(1).double()
    fg_fg, fg_bg = _levels_histograms(pred, gt)
    curve = _enhanced(fg_fg, fg_bg, gt_fg[:, None].expand_as(fg_fg), size)
    return curve, _enhanced(*_adaptive_counts(pred, gt), gt_fg, size)


def _s_object(n: torch.Tensor, total: torch.Tensor, squares: torch.Tensor) -> torch.Tensor:
    """2 mean / (mean^2 + 1 + std + eps) of a region from its count, sum and centred sum of squares."""
    mean = total / n
    std = torch.where(n > 1, (squares / (n - 1).clamp(min=1)).clamp(min=0).sqrt(), torch.zeros_like(n))
    return 2 * mean / (mean**2 + 1 + std + EPS)


def s_scores(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """Per image: the S-measure (N,)."""
    n, h, w = pred.shape
    g = gt.double()
    n_fg = g.flatten(1).sum(1)
    n_bg = h * w - n_fg
    y = n_fg / (h * w)
    # Object score: foreground of the map and background of its inverse, centred two-pass sums.
    fg_sum = (pred * g).flatten(1).sum(1)
    inv = 1 - pred
    bg_sum = (inv * (1 - g)).flatten(1).sum(1)
    fg_mean = (fg_sum / n_fg.clamp(min=1))[:, None, None]
    bg_mean = (bg_sum / n_bg.clamp(min=1))[:, None, None]
    fg_sq = (((pred - fg_mean) ** 2) * g).flatten(1).sum(1)
    bg_sq = (((inv - bg_mean) ** 2) * (1 - g)).flatten(1).sum(1)
    obj = _s_object(n_fg, fg_sum, fg_sq) * y + _s_object(n_bg, bg_sum, bg_sq) * (1 - y)
    # Region score: four quadrants split at the ground truth's centroid (MATLAB's 1-based + 1).
    rows, cols = torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64)
    cy = torch.round((g.sum(2) * rows).sum(1) / n_fg.clamp(min=1)).long() + 1
    cx = torch.round((g.sum(1) * cols).sum(1) / n_fg.clamp(min=1)).long() + 1
    quad = ((torch.arange(h)[None, :, None] >= cy[:, None, None]).long() * 2
            + (torch.arange(w)[None, None, :] >= cx[:, None, None]).long()).flatten(1)  # 0 TL, 1 TR, 2 BL, 3 BR

    def quad_sum(v: torch.Tensor) -> torch.Tensor:
        return torch.zeros(n, 4, dtype=torch.float64).scatter_add_(1, quad, v.flatten(1))

    cyf, cxf = cy.double(), cx.double()
    counts = torch.stack([cyf * cxf, cyf * (w - cxf), (h - cyf) * cxf, (h - cyf) * (w - cxf)], 1)
    weights = counts / (h * w)
    weights[:, 3] = 1 - weights[:, 0] - weights[:, 1] - weights[:, 2]
    # Quadrant means with numpy's own summation, on the very slices PySODMetrics takes: for a
    # constant quadrant, whether p - mean is exactly zero (SSIM's 0/0 case scores 1) or one ulp off
    # (it scores 0) depends on how the mean was rounded. NaN for an empty quadrant, as numpy's.
    flat = pred.flatten(1)
    x = torch.full((n, 4), math.nan, dtype=torch.float64)
    pred_np = pred.numpy()
    for i, (r, c) in enumerate(zip(cy.tolist(), cx.tolist())):
        for q, (rows_q, cols_q) in enumerate(((slice(0, r), slice(0, c)), (slice(0, r), slice(c, w)), (slice(r, h), slice(0, c)), (slice(r, h), slice(c, w)))):
            block = pred_np[i, rows_q, cols_q]
            if block.size:
                x[i, q] = float(np.mean(block))
    yq = quad_sum(g) / counts
    # Centred two-pass sums, as PySODMetrics: a constant quadrant must give exactly zero variance.
    dp = flat - x.gather(1, quad)
    dg = g.flatten(1) - yq.gather(1, quad)
    den = counts - 1 + EPS
    sigma_x, sigma_y, sigma_xy = quad_sum(dp * dp) / den, quad_sum(dg * dg) / den, quad_sum(dp * dg) / den
    alpha = 4 * x * yq * sigma_xy
    beta = (x**2 + yq**2) * (sigma_x + sigma_y)
    ssim = torch.where(alpha != 0, alpha / (beta + EPS), torch.where(beta == 0, torch.ones_like(alpha), torch.zeros_like(alpha)))
    region = (ssim * weights).sum(1)
    score = torch.clamp(ALPHA * obj + (1 - ALPHA) * region, min=0)
    score = torch.where(torch.isnan(region), region, score)  # numpy's maximum(0, nan) is nan
    mean_pred = pred.flatten(1).mean(1)
    return torch.where(y == 0, 1 - mean_pred, torch.where(y == 1, mean_pred, score))


def _gauss_kernel(size: int = 7, sigma: float = 5.0) -> torch.Tensor:
    """MATLAB's fspecial('gaussian', size, sigma)."""
    r = (size - 1) / 2
    ax = torch.arange(-r, r + 1, dtype=torch.float64)
    k = torch.exp(-(ax[None, :] ** 2 + ax[:, None] ** 2) / (2 * sigma * sigma))
    k[k < torch.finfo(torch.float64).eps * k.max()] = 0
    return k / k.sum()


_KERNEL = _gauss_kernel()


def wf_scores(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """Per image: the weighted F-measure (N,), beta = 1; 0 for a mask with no foreground."""
    n, h, w = pred.shape
    err = (pred - gt.double()).abs()
    et = err.clone()
    dist = torch.zeros_like(err)
    gt_np = gt.numpy()
    for i in range(n):
        if not gt_np[i].any():
            continue
        d, (iy, ix) = distance_transform_edt(~gt_np[i], return_indices=True)
        d, iy, ix = torch.from_numpy(d), torch.from_numpy(iy), torch.from_numpy(ix)
        et[i] = err[i][iy, ix]  # foreground pixels are their own nearest: unchanged
        dist[i] = d
    ea = F.conv2d(et[:, None], _KERNEL[None, None], padding=_KERNEL.shape[-1] // 2)[:, 0]
    min_e_ea = torch.where(gt & (ea < err), ea, err)
    weight = torch.where(gt, torch.ones_like(dist), 2 - torch.exp(math.log(0.5) / 5 * dist))
    ew = min_e_ea * weight
    g = gt.double()
    n_fg = g.flatten(1).sum(1)
    ew_fg = (ew * g).flatten(1).sum(1)
    tpw = n_fg - ew_fg
    fpw = (ew * (1 - g)).flatten(1).sum(1)
    recall = 1 - ew_fg / n_fg.clamp(min=1)
    precision = tpw / (tpw + fpw + EPS)
    q = (1 + WF_BETA) * recall * precision / (recall + WF_BETA * precision + EPS)
    return torch.where(n_fg > 0, q, torch.zeros_like(q))


def mae_scores(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    return (pred - gt.double()).abs().flatten(1).mean(1)


# ----------------------------------------------------------------------------- Metric classes
class _PerImage(Metric):
    """A metric whose state is the per-image values of `names`, in update order."""

    full_state_update = False
    names: tuple[str, ...] = ()

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        for name in self.names:
            self.add_state(name, default=[], dist_reduce_fx="cat")

    def scores(self, pred: torch.Tensor, gt: torch.Tensor) -> tuple[torch.Tensor, ...]:
        raise NotImplementedError

    def update(self, preds, targets) -> None:
        """`preds`/`targets`: (H, W) tensors, (N, H, W) tensors or lists of (H, W) tensors."""
        parts: dict[str, list] = {name: [] for name in self.names}
        order = []
        for idx, pred, target in _groups(preds, targets):
            values = self.scores(*prepare(pred.detach().cpu(), target.detach().cpu()))
            for name, v in zip(self.names, values):
                parts[name].append(v)
            order += idx
        back = torch.argsort(torch.tensor(order))
        for name in self.names:
            getattr(self, name).append(torch.cat(parts[name])[back].to(self.device))

    def per_image(self) -> dict[str, torch.Tensor]:
        """Every image's values, in the order they were given."""
        return {name: torch.cat(v) if isinstance(v, list) and v else (v if isinstance(v, torch.Tensor) else torch.zeros(0))
                for name, v in ((n, getattr(self, n)) for n in self.names)}  # fmt: skip


class FMeasure(_PerImage):
    """Max, mean and adaptive F-measure (beta^2 = 0.3) over a set of images."""

    higher_is_better = True
    names = ("f_curve", "adaptive_f")

    def scores(self, pred, gt):
        return f_scores(pred, gt)

    def compute(self) -> dict[str, torch.Tensor]:
        v = self.per_image()
        curve = v["f_curve"].mean(0)
        return {"max_f": curve.max(), "mean_f": curve.mean(), "adaptive_f": v["adaptive_f"].mean()}


class EMeasure(_PerImage):
    """Max, mean and adaptive E-measure over a set of images."""

    higher_is_better = True
    names = ("e_curve", "adaptive_e")

    def scores(self, pred, gt):
        return e_scores(pred, gt)

    def compute(self) -> dict[str, torch.Tensor]:
        v = self.per_image()
        curve = v["e_curve"].mean(0)
        return {"max_e": curve.max(), "mean_e": curve.mean(), "adaptive_e": v["adaptive_e"].mean()}


class SMeasure(_PerImage):
    """Structure measure (alpha = 0.5), averaged over images."""

    higher_is_better = True
    names = ("s_measure",)

    def scores(self, pred, gt):
        return (s_scores(pred, gt),)

    def compute(self) -> torch.Tensor:
        return self.per_image()["s_measure"].mean()


class WeightedFMeasure(_PerImage):
    """Weighted F-measure (beta = 1), averaged over images."""

    higher_is_better = True
    names = ("weighted_f",)

    def scores(self, pred, gt):
        return (wf_scores(pred, gt),)

    def compute(self) -> torch.Tensor:
        return self.per_image()["weighted_f"].mean()


class MeanAbsoluteError(_PerImage):
    """Mean over images of the mean absolute difference between normalised map and mask."""

    higher_is_better = False
    names = ("mae",)

    def scores(self, pred, gt):
        return (mae_scores(pred, gt),)

    def compute(self) -> torch.Tensor:
        return self.per_image()["mae"].mean()


def all_metrics() -> dict[str, _PerImage]:
    """One of each: what a run scores its validation and test maps with."""
    return {"f": FMeasure(), "e": EMeasure(), "s": SMeasure(), "wf": WeightedFMeasure(), "mae": MeanAbsoluteError()}
