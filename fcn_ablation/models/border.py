"""The trunk's first stages without the work on conv1_1's 100-pixel zero border: the same function.

conv1_1 pads the image with 100 zeros so that FCN-8s' output covers any input; on a 96x96 image
the first maps are 294x294, nine tenths of them border. Away from the image, every map is the
same for every image of a batch: a constant, except for thin rims along the map's edges that the
zero padding of each later convolution and the ceil-mode pooling make (their width grows by one
pixel a convolution, halves a pooling). A `Field` holds a map as that background, kept as a small
canvas (the rims and one interior row and column, stretched when needed), plus the patch around
the image where the map differs from it. Convolutions, ReLUs and poolings act on both: a
convolution of the patch minus the interior value (zero outside the patch) plus the convolution
of the background (linearity), so a step costs the patch's area, not the map's. The result is
materialised as a full map where a skip reads it and where the patch would reach the rims, and gradients
flow through both parts: training does the same arithmetic, to float rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class Field:
    """A (N, C, H, W) map as background + patch. The background is `canvas` (1, C, a, b): its rows
    are the map's `top` first rows, one interior row (index `top`), then its `bottom` last rows
    (columns likewise, `left`/`right`). The patch (N, C, ph, pw) sits at (`y`, `x`), inside the
    interior with at least a pixel to spare; around it the map is the interior value."""

    canvas: torch.Tensor
    size: tuple[int, int]
    rims: tuple[int, int, int, int]  # top, bottom, left, right
    patch: torch.Tensor
    y: int
    x: int

    @property
    def interior(self) -> torch.Tensor:
        t, _, lf, _ = self.rims
        return self.canvas[:, :, t : t + 1, lf : lf + 1]

    def fits(self, margin: int) -> bool:
        """Whether the patch, grown by `margin` pixels, stays off the rims."""
        (h, w), (t, b, lf, rt) = self.size, self.rims
        ph, pw = self.patch.shape[-2:]
        return (self.y - margin >= t and self.y + ph + margin <= h - b and self.x - margin >= lf
                and self.x + pw + margin <= w - rt and h > t + b and w > lf + rt)  # fmt: skip

    def full(self) -> torch.Tensor:
        """The map itself, (N, C, H, W)."""
        (h, w), (t, b, lf, rt) = self.size, self.rims
        bg = _stretch(self.canvas, 2, t, h - t - b)
        bg = _stretch(bg, 3, lf, w - lf - rt)
        ph, pw = self.patch.shape[-2:]
        d = F.pad(self.patch - self.interior, (self.x, w - self.x - pw, self.y, h - self.y - ph))
        return d + bg


def _stretch(t: torch.Tensor, dim: int, at: int, n: int) -> torch.Tensor:
    """`t` with its slice `at` along `dim` repeated `n` times."""
    parts = [t.narrow(dim, 0, at), t.narrow(dim, at, 1).expand(*[n if d == dim else -1 for d in range(t.dim())])]
    return torch.cat([*parts, t.narrow(dim, at + 1, t.shape[dim] - at - 1)], dim)


def on_padded_image(x: torch.Tensor, pad: int) -> Field:
    """The image `x` (N, C, h, w) inside `pad` zeros on every side."""
    h, w = x.shape[-2:]
    return Field(x.new_zeros(1, x.shape[1], 1, 1), (h + 2 * pad, w + 2 * pad), (0, 0, 0, 0), x, pad, pad)


def conv3x3(f: Field, conv: nn.Conv2d, padding: int) -> Field:
    """`conv` (3x3, stride 1) with `padding` 0 or 1 of the map."""
    (h, w), (t, b, lf, rt) = f.size, f.rims
    assert padding in (0, 1) and (padding == 1 or not any(f.rims)), "an unpadded conv of rims: not needed here"
    c_in = f.interior
    # The background: the interior repeated three times, so one output row and column see it only.
    grown = _stretch(_stretch(f.canvas, 2, t, 3), 3, lf, 3)
    out = F.conv2d(grown, conv.weight, conv.bias, padding=padding)
    g = padding  # rims grow by one with zero padding; an unpadded conv shifts the map instead
    t2, b2, lf2, rt2 = (t + g, b + g, lf + g, rt + g) if padding else (t, b, lf, rt)
    keep_rows = [*range(t2), t2, *range(out.shape[2] - b2, out.shape[2])]
    keep_cols = [*range(lf2), lf2, *range(out.shape[3] - rt2, out.shape[3])]
    canvas = out[:, :, keep_rows][:, :, :, keep_cols]
    patch = F.conv2d(f.patch - c_in, conv.weight, None, padding=2) + canvas[:, :, t2 : t2 + 1, lf2 : lf2 + 1]
    size = (h + 2 * padding - 2, w + 2 * padding - 2)
    return Field(canvas, size, (t2, b2, lf2, rt2), patch, f.y + padding - 2, f.x + padding - 2)


def relu(f: Field) -> Field:
    return Field(F.relu(f.canvas), f.size, f.rims, F.relu(f.patch), f.y, f.x)


def pool2x2(f: Field) -> Field:
    """2x2 max-pooling, stride 2, ceil mode."""
    (h, w), (t, b, lf, rt) = f.size, f.rims

    def small(n: int, first: int, last: int) -> tuple[int, int, int, int]:
        # interior repeats m (4 or 5) so that the small map's length has the map's parity: its
        # windows then pair the same rows; returns m, the pooled rims and the interior's window
        m = 4 + (n - first - last - 4) % 2
        total = first + m + last
        first2 = -(-first // 2)
        last2 = -(-total // 2) - (first + m) // 2
        return m, first2, last2, first2

    mh, t2, b2, it = small(h, t, b)
    mw, lf2, rt2, il = small(w, lf, rt)
    pooled = F.max_pool2d(_stretch(_stretch(f.canvas, 2, t, mh), 3, lf, mw), 2, 2, ceil_mode=True)
    rows = [*range(t2), it, *range(pooled.shape[2] - b2, pooled.shape[2])]
    cols = [*range(lf2), il, *range(pooled.shape[3] - rt2, pooled.shape[3])]
    canvas = pooled[:, :, rows][:, :, :, cols]
    # The patch, grown with the interior value to whole windows, pooled.
    ph, pw = f.patch.shape[-2:]
    top, left = f.y % 2, f.x % 2
    bottom, right = (f.y + ph) % 2, (f.x + pw) % 2
    c = f.interior
    d = F.pad(f.patch - c, (left, right, top, bottom)) + c
    patch = F.max_pool2d(d, 2, 2)
    return Field(canvas, (-(-h // 2), -(-w // 2)), (t2, b2, lf2, rt2), patch, f.y // 2, f.x // 2)


def first_stages(
    net: nn.Module, x: torch.Tensor, stages, padding: dict[str, int], read: set[str]
) -> tuple[torch.Tensor, dict, int]:
    """The trunk's first stages of `net` (ReLU after every convolution, a 2x2 ceil-mode pooling
    after every stage) on fields, as long as the patch stays off the rims (the first four stages
    on any image, with conv1_1's padding of 100): the last pooled map, materialised; the pooled maps
    of the stages closed by a layer in `read` (the decoder's skips), materialised; and how many
    stages ran. The caller runs the rest on full maps."""
    f = on_padded_image(x, padding[stages[0][0]])
    pools, done = {}, 0
    for stage in stages:
        if not f.fits(2 * len(stage) + 1):
            break
        for i, name in enumerate(stage):
            f = relu(conv3x3(f, getattr(net, name), 0 if done == 0 and i == 0 else padding[name]))
        f = pool2x2(f)
        done += 1
        if stage[-1] in read:
            pools[stage[-1]] = f.full()
    last = stages[done - 1][-1] if done else None
    return (pools[last] if last in pools else f.full()) if done else x, pools, done
