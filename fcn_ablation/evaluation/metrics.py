"""Saliency metrics as torchmetrics `Metric`s, equal to PySODMetrics (the salient-object
community's reference implementation) to 1e-6, and fast: every metric works on a whole stack of
maps at once (images of one size are stacked; a list of sizes is grouped by size).

Conventions shared by all of them (`Stack`), as in PySODMetrics:
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

import contextlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from torchmetrics import Metric

from fcn_ablation.evaluation.registry import CURVES, METRICS
from fcn_ablation.machine import usable_cores

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


def _workers(n: int) -> int:
    """Threads for `n` images: the cores this process may run on, at most four."""
    cores = usable_cores()
    return max(1, min(4, n, cores))


@contextlib.contextmanager
def _libraries_single_threaded():
    """torch and OpenCV each keep a thread pool; we already run one chunk of images per core, and
    theirs would only contend with ours (worst on a loaded machine). Set, and restored, by the
    calling thread only."""
    import cv2

    torch_threads, cv2_threads = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        torch.set_num_threads(torch_threads)
        cv2.setNumThreads(cv2_threads)


def _scores_in_chunks(fn, pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """`fn(Stack(pred, target))`, computed on one chunk of the stack per core at once, outputs
    joined in order. Whole chunks, not single images, go to the threads: numpy, OpenCV and torch
    release the GIL inside each call, so the chunks run side by side with little Python between."""
    k = _workers(len(pred))
    with _libraries_single_threaded():
        if k == 1:
            return fn(Stack(pred, target))
        with ThreadPoolExecutor(k) as pool:
            parts = list(pool.map(lambda pt: fn(Stack(*pt)), zip(pred.tensor_split(k), target.tensor_split(k))))
    return tuple(torch.cat(p) for p in zip(*parts))


def _centroids_and_histograms(q: np.ndarray, g: np.ndarray):
    """Per image of a stack of 8-bit maps `q` and boolean masks `g`: the mask's pixel count, its
    centroid (MATLAB's 1-based + 1, numpy's rounding, half to even; integer sums, so exact) and
    the joint histogram of (quadrant split at that centroid, mask, level), (N, 4, 2, 256)."""
    import cv2

    n, h, w = q.shape
    hist = np.zeros((n, 4, 2, 256), np.float64)
    n_fg, cy, cx = np.zeros(n), np.ones(n, np.int64), np.ones(n, np.int64)
    rows, cols = np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64)
    for i in range(n):
        m = g[i].view(np.uint8)
        per_row = cv2.reduce(m, 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel()
        n_fg[i] = count = per_row.sum()
        if count:
            cy[i] = round(float(rows @ per_row) / count) + 1
            cx[i] = round(float(cols @ cv2.reduce(m, 0, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel()) / count) + 1
        r, c = int(cy[i]), int(cx[i])
        x, y, bw, bh = cv2.boundingRect(m)
        for k, (rs, cs) in enumerate(((slice(0, r), slice(0, c)), (slice(0, r), slice(c, w)),
                                      (slice(r, h), slice(0, c)), (slice(r, h), slice(c, w)))):  # fmt: skip
            if rs.start < rs.stop and cs.start < cs.stop:
                hist[i, k, 0] = cv2.calcHist([q[i, rs, cs]], [0], None, [256], [0, 256]).reshape(-1)
            fy, fx = slice(max(rs.start, y), min(rs.stop, y + bh)), slice(max(cs.start, x), min(cs.stop, x + bw))
            if count and fy.start < fy.stop and fx.start < fx.stop:  # the mask lies in its bounding box
                hist[i, k, 1] = cv2.calcHist([q[i, fy, fx]], [0], m[fy, fx], [256], [0, 256]).reshape(-1)
    hist[:, :, 0] -= hist[:, :, 1]
    return torch.from_numpy(n_fg), torch.from_numpy(cy), torch.from_numpy(cx), torch.from_numpy(hist)


class Stack:
    """Maps and masks of one size, reduced to what every metric needs.

    A map holds at most 256 values (its 8-bit levels), so most metrics are sums over a joint
    histogram of (quadrant, ground truth, level) per image instead of passes over pixels; the
    normalised value of each level, `values[i, level]`, is computed with PySODMetrics' very float
    operations, so each pixel's value is bit-identical to its per-pixel computation."""

    def __init__(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        pred, target = pred.detach().cpu(), target.detach().cpu()
        self.q = pred if pred.dtype == torch.uint8 else (pred.double().clamp(0, 1) * 255).round().to(torch.uint8)
        self.gt = target > 128 if target.dtype == torch.uint8 else target > 0.5
        n, self.h, self.w = self.q.shape
        self.n, self.size = n, self.h * self.w
        q, g = np.ascontiguousarray(self.q.numpy()), np.ascontiguousarray(self.gt.numpy())
        flat_q = q.reshape(n, -1)
        lo = torch.from_numpy(flat_q.min(1).astype(np.float64))[:, None] / 255
        hi = torch.from_numpy(flat_q.max(1).astype(np.float64))[:, None] / 255
        levels = torch.arange(256, dtype=torch.float64)[None] / 255
        span = hi - lo
        self.values = torch.where(
            span > 0, (levels - lo) / torch.where(span > 0, span, 1), levels.expand(n, 256)
        )  # (N, 256)
        self.n_fg, self.cy, self.cx, self.hist = _centroids_and_histograms(q, g)
        self.counts = self.hist.sum(1)  # (N, 2, 256): pixels of each level outside / inside the mask

    def mean_pred(self) -> torch.Tensor:
        return (self.counts.sum(1) * self.values).sum(1) / self.size

    def cumulative(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Pixels with floor(255 x value) >= t inside / outside the mask, for t = 255, ..., 0."""
        bins = (self.values * 255).to(torch.uint8).long()  # truncation, as numpy's astype(uint8)
        fg = torch.zeros(self.n, 256, dtype=torch.float64).scatter_add_(1, bins, self.counts[:, 1])
        bg = torch.zeros(self.n, 256, dtype=torch.float64).scatter_add_(1, bins, self.counts[:, 0])
        return fg.flip(-1).cumsum(-1), bg.flip(-1).cumsum(-1)

    def adaptive_counts(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Foreground pixels (inside, outside the mask) at the threshold min(2 x mean, 1)."""
        threshold = (2 * self.mean_pred()).clamp(max=1)[:, None]
        on = (self.values >= threshold).double()
        return (self.counts[:, 1] * on).sum(1), (self.counts[:, 0] * on).sum(1)


def _divide(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """num / den, 0 where den is 0 (PySODMetrics' `divide`)."""
    return torch.where(den != 0, num / torch.where(den != 0, den, 1), torch.zeros_like(num))


# ----------------------------------------------------------------------------- per-image scores
def _precision_recall(st: Stack, tp: torch.Tensor, fp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    fg = st.n_fg.view(-1, *([1] * (tp.dim() - 1))).expand_as(tp)
    return _divide(tp, tp + fp), _divide(tp, fg)


def _f(p: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    return _divide((1 + BETA2) * p * r, BETA2 * p + r)


def f_scores(st: Stack) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image: the F curve (N, 256) and adaptive F (N,)."""
    return _f(*_precision_recall(st, *st.cumulative())), _f(*_precision_recall(st, *st.adaptive_counts()))


def pr_scores(st: Stack) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image: the precision and recall curves (N, 256 each), thresholds 255 down to 0."""
    return _precision_recall(st, *st.cumulative())


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


def e_scores(st: Stack) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image: the E curve (N, 256) and adaptive E (N,)."""
    fg_fg, fg_bg = st.cumulative()
    curve = _enhanced(fg_fg, fg_bg, st.n_fg[:, None].expand_as(fg_fg), st.size)
    return curve, _enhanced(*st.adaptive_counts(), st.n_fg, st.size)


def _s_object(n: torch.Tensor, total: torch.Tensor, squares: torch.Tensor) -> torch.Tensor:
    """2 mean / (mean^2 + 1 + std + eps) of a region from its count, sum and centred sum of squares."""
    mean = total / n
    std = torch.where(n > 1, (squares / (n - 1).clamp(min=1)).clamp(min=0).sqrt(), torch.zeros_like(n))
    return 2 * mean / (mean**2 + 1 + std + EPS)


def s_scores(st: Stack) -> torch.Tensor:
    """Per image: the S-measure (N,)."""
    v, h, w = st.values, st.h, st.w
    fg_h, bg_h = st.counts[:, 1], st.counts[:, 0]
    n_fg, n_bg = st.n_fg, st.size - st.n_fg
    y = n_fg / st.size
    # Object score: the map over the foreground, its inverse over the background.
    fg_sum, bg_sum = (fg_h * v).sum(1), (bg_h * (1 - v)).sum(1)
    fg_mean, bg_mean = fg_sum / n_fg.clamp(min=1), bg_sum / n_bg.clamp(min=1)
    fg_sq = (fg_h * (v - fg_mean[:, None]) ** 2).sum(1)
    bg_sq = (bg_h * ((1 - v) - bg_mean[:, None]) ** 2).sum(1)
    obj = _s_object(n_fg, fg_sum, fg_sq) * y + _s_object(n_bg, bg_sum, bg_sq) * (1 - y)
    # Region score: SSIM of the four quadrants split at the centroid, from their histograms.
    hq = st.hist  # (N, 4, 2, 256)
    cyf, cxf = st.cy.double(), st.cx.double()
    counts = torch.stack([cyf * cxf, cyf * (w - cxf), (h - cyf) * cxf, (h - cyf) * (w - cxf)], 1)
    weights = counts / st.size
    weights[:, 3] = 1 - weights[:, 0] - weights[:, 1] - weights[:, 2]
    per_level = hq.sum(2)  # (N, 4, 256)
    x = (per_level * v[:, None]).sum(-1) / counts  # NaN for an empty quadrant, as numpy's mean of nothing
    x = _exact_constant_means(st, x, per_level)
    ones = hq[:, :, 1].sum(-1)
    yq = ones / counts
    dv = v[:, None] - x[..., None]  # (N, 4, 256)
    dg = torch.stack([-yq, 1 - yq], -1)  # (N, 4, 2)
    den = counts - 1 + EPS
    sigma_x = (per_level * dv**2).sum(-1) / den
    sigma_y = ((counts - ones) * dg[..., 0] ** 2 + ones * dg[..., 1] ** 2) / den
    sigma_xy = ((hq * dg[..., None]).sum(2) * dv).sum(-1) / den
    alpha = 4 * x * yq * sigma_xy
    beta = (x**2 + yq**2) * (sigma_x + sigma_y)
    ssim = torch.where(
        alpha != 0, alpha / (beta + EPS), torch.where(beta == 0, torch.ones_like(alpha), torch.zeros_like(alpha))
    )
    region = (ssim * weights).sum(1)
    score = torch.clamp(ALPHA * obj + (1 - ALPHA) * region, min=0)
    score = torch.where(torch.isnan(region), region, score)  # numpy's maximum(0, nan) is nan
    mean_pred = st.mean_pred()
    return torch.where(y == 0, 1 - mean_pred, torch.where(y == 1, mean_pred, score))


def _exact_constant_means(st: Stack, x: torch.Tensor, per_level: torch.Tensor) -> torch.Tensor:
    """In a quadrant of one level, whether `value - mean` is exactly zero decides SSIM (0/0 scores
    1, a one-ulp residue 0): there take numpy's mean of the very slice PySODMetrics takes."""
    constant = ((per_level > 0).sum(-1) == 1).nonzero().tolist()
    for i, q in constant:
        r, c = int(st.cy[i]), int(st.cx[i])
        rows = slice(0, r) if q < 2 else slice(r, st.h)
        cols = slice(0, c) if q % 2 == 0 else slice(c, st.w)
        level = int(per_level[i, q].nonzero()[0])
        block = np.full((rows.stop - rows.start, cols.stop - cols.start), float(st.values[i, level]))
        x[i, q] = float(np.mean(block))
    return x


def _gauss_1d(size: int = 7, sigma: float = 5.0) -> torch.Tensor:
    """The 1-D factor of MATLAB's fspecial('gaussian', size, sigma) (normalised)."""
    r = (size - 1) / 2
    k = torch.exp(-(torch.arange(-r, r + 1, dtype=torch.float64) ** 2) / (2 * sigma * sigma))
    return k / k.sum()


_G1 = _gauss_1d()
_G1_NP = _G1.numpy()
_R = 3  # the kernel's radius: only background pixels this close to the mask reach a mask pixel's EA
_BAND_SQ = 2 * _R * _R  # ... all of which lie within this squared distance of it


def _offsets_at_distance() -> np.ndarray:
    """For each squared distance k <= _BAND_SQ, the offsets (dy, dx) at that distance in the order
    scipy's feature transform prefers them (the smaller column, then the smaller row), padded with
    (0, 0): a band pixel itself, never mask. (_BAND_SQ + 1, 8, 2)."""
    table = np.zeros((_BAND_SQ + 1, 8, 2), np.int64)
    near = [(dy, dx) for dy in range(-_R - 1, _R + 2) for dx in range(-_R - 1, _R + 2)]
    for k in range(1, _BAND_SQ + 1):
        ring = sorted((o for o in near if o[0] ** 2 + o[1] ** 2 == k), key=lambda o: (o[1], o[0]))
        table[k, : len(ring)] = np.array(ring, np.int64).reshape(-1, 2)
    return table


_AT_DISTANCE = _offsets_at_distance()
_LOG_HALF_FIFTH = np.float32(np.log(0.5) / 5)


def _nearest_in_band(m: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Background pixels of one mask within the kernel's reach of it (`_R`), and the mask pixel
    each takes its error from: the nearest, ties broken as scipy's feature transform breaks them.
    `d` is the exact distance of every pixel to the mask, so each band pixel only tries the (at
    most eight) offsets at its own distance, all at once. Returns flat indices into `m` of every
    such pixel and of its source."""
    h, w = m.shape
    band = np.flatnonzero((d > 0) & (d < np.sqrt(_BAND_SQ + 0.5)))  # the next possible distance is sqrt(20)
    rows, cols = np.divmod(band, w)
    sq = np.rint(np.square(d[rows, cols], dtype=np.float64)).astype(np.intp)  # d: float32 sqrt of that integer
    pad = _R + 2  # > the largest offset: no bounds checks, the padding is never mask
    wp = w + 2 * pad
    padded = np.zeros((h + 2 * pad, wp), bool)
    padded[pad:-pad, pad:-pad] = m
    at = (rows + pad) * wp + cols + pad  # in the padded mask
    shifts = (_AT_DISTANCE[:, :, 0] * wp + _AT_DISTANCE[:, :, 1])[sq]  # (band, 8)
    first = padded.ravel()[at[:, None] + shifts].argmax(1)  # one of them is mask: the first in order
    src = at + shifts[np.arange(len(at)), first]
    return band, (src // wp - pad) * w + src % wp - pad


def _weighted_f(
    q: np.ndarray, m: np.ndarray, n_fg: int, bg_sum: float, fg_counts: np.ndarray, values: np.ndarray
) -> float:
    """One image's weighted F (beta = 1) from its 8-bit map `q`, mask `m` with `n_fg` > 0
    foreground pixels, the sum of the normalised map over the background, the pixels of each
    level on the mask, and the normalised value of each level.

    The error a mask pixel keeps, min(EA, E), depends only on the mask's bounding box grown by the
    kernel's radius (outside it Et is 0), so that part works on that crop, in float64.

    The false positives, the sum over the background of map x B, B = 2 - 0.5^(d / 5) for the
    distance d to the mask, need the whole image: they are 2 x `bg_sum` minus the sum of
    map x 0.5^(d / 5), which runs in float32 (OpenCV's exact distance transform, its exp) with a
    float64 sum. Each of its terms is off by at most 3e-7 of itself, so the false positives are
    off by at most 3e-7 of themselves and the score by at most 1e-7 (a few 1e-10 in practice)."""
    import cv2

    h, w = m.shape
    d = cv2.distanceTransform((~m).view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)  # float32 sqrt of an integer
    x, y, bw, bh = cv2.boundingRect(m.view(np.uint8))
    crop = np.s_[max(y - _R, 0) : min(y + bh + _R, h), max(x - _R, 0) : min(x + bw + _R, w)]
    band, source = _nearest_in_band(m[crop], d[crop])
    decay = cv2.exp(np.multiply(d, _LOG_HALF_FIFTH, out=d))  # 0.5^(d / 5)
    values32 = values.astype(np.float32)
    decayed = cv2.sumElems(cv2.multiply(cv2.LUT(q, values32), decay))[0] - float(
        values32 @ fg_counts
    )  # decay is 1 on the mask
    fpw = 2 * bg_sum - decayed
    mc = m[crop]
    err = cv2.LUT(q[crop], values) - mc
    np.abs(err, out=err)  # |map - mask|
    et = err * mc
    et.ravel()[band] = err.ravel()[source]
    ea = cv2.sepFilter2D(et, cv2.CV_64F, _G1_NP, _G1_NP, borderType=cv2.BORDER_CONSTANT)
    ew_fg = float(np.sum(np.minimum(ea, err), where=mc))
    tpw = n_fg - ew_fg
    recall = 1 - ew_fg / n_fg
    precision = tpw / (tpw + fpw + EPS)
    return (1 + WF_BETA) * recall * precision / (recall + WF_BETA * precision + EPS)


def wf_scores(st: Stack) -> torch.Tensor:
    """Per image: the weighted F-measure (N,), beta = 1; 0 for a mask with no foreground.

    Margolin et al.'s recipe as PySODMetrics runs it, computed where it matters: a background
    pixel takes the error of its nearest mask pixel only within the 7x7 kernel's reach of the mask
    (farther, it never meets a mask pixel's EA)."""
    gt, q, values = st.gt.numpy(), st.q.numpy(), np.ascontiguousarray(st.values.numpy())
    bg_sum = (st.counts[:, 0] * st.values).sum(1).tolist()
    fg_counts = st.counts[:, 1].numpy()
    n_fg = st.n_fg.numpy().astype(np.int64).tolist()
    scores = [_weighted_f(q[i], gt[i], n, bg_sum[i], fg_counts[i], values[i]) if n else 0.0 for i, n in enumerate(n_fg)]
    return torch.tensor(scores, dtype=torch.float64)


def mae_scores(st: Stack) -> torch.Tensor:
    v = st.values
    return ((st.counts[:, 0] * v).sum(1) + (st.counts[:, 1] * (1 - v)).sum(1)) / st.size


# ----------------------------------------------------------------------------- Metric classes
class _PerImage(Metric):
    """A metric whose state is the per-image values of `names`, in update order."""

    full_state_update = False
    names: tuple[str, ...] = ()

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        for name in self.names:
            self.add_state(name, default=[], dist_reduce_fx="cat")

    def scores(self, st: Stack) -> tuple[torch.Tensor, ...]:
        raise NotImplementedError

    def update(self, preds, targets) -> None:
        """`preds`/`targets`: (H, W) tensors, (N, H, W) tensors or lists of (H, W) tensors."""
        parts: dict[str, list] = {name: [] for name in self.names}
        order = []
        for idx, pred, target in _groups(preds, targets):
            values = _scores_in_chunks(self.scores, pred, target)
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


def _curve_summary(curves: torch.Tensor, adaptive: torch.Tensor, suffix: str) -> dict[str, torch.Tensor]:
    """Max and mean of the mean curve over images, and the mean adaptive score."""
    curve = curves.mean(0)
    return {f"max_{suffix}": curve.max(), f"mean_{suffix}": curve.mean(), f"adaptive_{suffix}": adaptive.mean()}


class _Curves(_PerImage):
    """Per image a curve over the 256 thresholds and an adaptive score: max, mean and adaptive."""

    higher_is_better = True
    suffix = ""
    fn = None

    def scores(self, st):
        return type(self).fn(st)

    def compute(self) -> dict[str, torch.Tensor]:
        v = self.per_image()
        return _curve_summary(v[self.names[0]], v[self.names[1]], self.suffix)


class _Score(_PerImage):
    """One score per image, averaged over images."""

    higher_is_better = True
    fn = None

    def scores(self, st):
        return (type(self).fn(st),)

    def compute(self) -> torch.Tensor:
        return self.per_image()[self.names[0]].mean()


class FMeasure(_Curves):
    """Max, mean and adaptive F-measure (beta^2 = 0.3) over a set of images."""

    names, suffix, fn = ("f_curve", "adaptive_f"), "f", staticmethod(f_scores)


class EMeasure(_Curves):
    """Max, mean and adaptive E-measure over a set of images."""

    names, suffix, fn = ("e_curve", "adaptive_e"), "e", staticmethod(e_scores)


class PrecisionRecall(_Curves):
    """Precision and recall over the 256 thresholds: the PR curve (mean over images of each)."""

    names, fn = ("precision_curve", "recall_curve"), staticmethod(pr_scores)

    def compute(self) -> dict[str, torch.Tensor]:
        v = self.per_image()
        return {"precision": v["precision_curve"].mean(0), "recall": v["recall_curve"].mean(0)}


class SMeasure(_Score):
    """Structure measure (alpha = 0.5), averaged over images."""

    names, fn = ("s_measure",), staticmethod(s_scores)


class WeightedFMeasure(_Score):
    """Weighted F-measure (beta = 1), averaged over images."""

    names, fn = ("weighted_f",), staticmethod(wf_scores)


class MeanAbsoluteError(_Score):
    """Mean over images of the mean absolute difference between normalised map and mask."""

    higher_is_better = False
    names, fn = ("mae",), staticmethod(mae_scores)


_PARTS = (FMeasure, EMeasure, PrecisionRecall, SMeasure, WeightedFMeasure, MeanAbsoluteError)


class SaliencyMetrics(_PerImage):
    """Every metric above in one update (the maps are reduced once): what a run scores with."""

    higher_is_better = True
    names = sum((cls.names for cls in _PARTS), ())

    def scores(self, st):
        return tuple(v for cls in _PARTS for v in (cls.fn(st) if issubclass(cls, _Curves) else (cls.fn(st),)))

    def compute(self) -> dict[str, torch.Tensor]:
        v = self.per_image()
        out = {
            **_curve_summary(v["f_curve"], v["adaptive_f"], "f"),
            **_curve_summary(v["e_curve"], v["adaptive_e"], "e"),
        }
        out = {**out, **{name: v[name].mean() for name in ("s_measure", "weighted_f", "mae")}}
        return {name: out[name] for name in METRICS}  # the registry's metrics, in its order


def all_metrics() -> dict[str, _PerImage]:
    """One of each metric class (for comparing them one by one)."""
    return {"f": FMeasure(), "e": EMeasure(), "pr": PrecisionRecall(), "s": SMeasure(), "wf": WeightedFMeasure(),
            "mae": MeanAbsoluteError()}  # fmt: skip


def mean_curves(per_image: dict) -> dict[str, np.ndarray]:
    """{curve name: (256,) float64} of `CURVES`, over the images of `per_image`; a curve whose
    per-image values are absent is left out."""
    return {name: np.asarray(per_image[key], dtype=np.float64).mean(0) for name, key in CURVES.items()
            if key in per_image and len(per_image[key])}  # fmt: skip


# Per-image curves kept only as their means (`curve/<name>`): the report draws them, no test resamples them.
MEAN_ONLY = tuple(k for name, k in CURVES.items() if name in ("precision", "recall"))


def stored_arrays(names: list[str], per_image: dict) -> dict[str, np.ndarray]:
    """A test's per-image values as a record's `.npz` holds them: the images' names, every metric's
    per-image values (float32) but the curves kept as means only, and the mean curves (`curve/<name>`)."""
    out = {"names": np.array(names)}
    out.update({k: np.asarray(v).astype(np.float32) for k, v in per_image.items() if k not in MEAN_ONLY})
    out.update({f"curve/{name}": c for name, c in mean_curves(per_image).items()})
    return out
