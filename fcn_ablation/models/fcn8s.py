"""FCN-8s (VGG16) with every layer's width taken from a `{layer name: channels}` mapping.

Faithful to the Caffe `voc-fcn8s` model: conv1_1 padded by 100, ceil-mode pooling, fc6/fc7 as
convolutions followed by ReLU and dropout, score layers that start at zero on pretrained
weights (`zero_scorers`, as Caffe's surgery does), bilinear deconvolutions without bias, and Caffe's crop offsets, so the output has the input's height
and width for any input size. Module names are the paper's layer names.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from fcn_ablation.models.arch import DECODER, FC_LAYERS, KERNEL, PADDING, SCORERS, STAGES, UPSCORES, WIDTH_LAYERS


def bilinear_kernel(channels: int, size: int) -> torch.Tensor:
    """Caffe FCN's `surgery.interp` filter: bilinear upsampling, channel i -> channel i only."""
    factor = (size + 1) // 2
    center = factor - 1 if size % 2 == 1 else factor - 0.5
    og = torch.arange(size, dtype=torch.float64)
    filt1d = 1 - (og - center).abs() / factor
    filt = (filt1d[:, None] * filt1d[None, :]).float()
    weight = torch.zeros(channels, channels, size, size)
    weight[range(channels), range(channels)] = filt
    return weight


def dense(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """`conv(x)` for fc6/fc7 (unpadded, stride 1) as one matrix product over all positions:
    Caffe's im2col + GEMM. Identical arithmetic; on a CPU at batch size one it runs about twice
    as fast as the convolution kernel, which handles a 7x7 kernel on a 16x19 map poorly."""
    n, c, h, w = x.shape
    k = conv.kernel_size[0]
    cols = F.unfold(x, k) if k > 1 else x.flatten(2)  # (N, C*k*k, positions), C slowest
    weight = conv.weight
    if weight.is_contiguous():
        weight = weight.view(conv.out_channels, -1)
    else:  # channels-last weights: flatten as (k, k, C), a view, and reorder the columns to match
        weight = weight.permute(0, 2, 3, 1).reshape(conv.out_channels, -1)
        cols = cols.view(n, c, k * k, -1).transpose(1, 2).reshape(n, k * k * c, -1)
    out = torch.matmul(weight, cols) + conv.bias.view(1, -1, 1)
    return out.view(n, conv.out_channels, h - k + 1, w - k + 1)


def first_stage_on_image(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """relu(conv1_2(relu(conv1_1(x)))) computed where the image is, without the 100-pixel zero
    border's work: the same values (to float rounding) for about a tenth of the arithmetic.

    conv1_1 pads the image with 100 zeros, so its output is the bias wherever its window misses the
    image: `c1 = relu(b1)` outside an (h+2)x(w+2) patch. By linearity conv1_2 of that map is conv1_2 of
    (map - c1), which is zero outside the patch, plus conv1_2 of the constant c1 (zero-padded at the
    map's edge: one value inside, others on its one-pixel rim, computed on a 3x3 canvas and stretched).
    On 96x96 images the full maps are 294x294, the patches 98x98; the two layers were a third of a
    training step on a CPU. Gradients flow through both terms, so training is the same arithmetic."""
    conv1, conv2 = net.conv1_1, net.conv1_2
    pad = conv1.padding[0]
    h, w = x.shape[-2:]
    big_h, big_w = h + 2 * pad - 2, w + 2 * pad - 2  # conv1_1's output size
    core = F.relu(F.conv2d(x, conv1.weight, conv1.bias, padding=2))  # rows pad-2 .. pad+h of it
    c1 = F.relu(conv1.bias).view(1, -1, 1, 1)
    inner = F.conv2d(core - c1, conv2.weight, None, padding=2)  # rows pad-3 .. pad+h+1 of conv1_2's
    top, left = pad - 3, pad - 3
    inner = F.pad(inner, (left, big_w - left - inner.shape[-1], top, big_h - top - inner.shape[-2]))
    rim = F.conv2d(c1.expand(1, -1, 3, 3), conv2.weight, conv2.bias, padding=1)
    rim = torch.cat([rim[:, :, :1], rim[:, :, 1:2].expand(-1, -1, big_h - 2, -1), rim[:, :, 2:]], 2)
    rim = torch.cat([rim[..., :1], rim[..., 1:2].expand(-1, -1, -1, big_w - 2), rim[..., 2:]], 3)
    return F.relu(inner + rim)


def _crop(x: torch.Tensor, offset: int, like: torch.Tensor) -> torch.Tensor:
    h, w = like.shape[-2:]
    return x[:, :, offset : offset + h, offset : offset + w]


class FCN8s(nn.Module):
    """FCN-8s whose layer widths come from `widths` (see `models.widths.build_widths`)."""

    def __init__(
        self,
        widths: Mapping[str, int],
        num_classes: int = 2,
        dropout: float = 0.5,
        learn_upsampling: bool = False,
        at_once_scaling: bool = False,
    ) -> None:
        super().__init__()
        missing = [n for n in WIDTH_LAYERS if n not in widths]
        if missing:
            raise ValueError(f"widths lacks layers {missing}")
        self.widths = {n: int(widths[n]) for n in WIDTH_LAYERS}
        self.num_classes = num_classes
        # FCN-8s "at-once" scales the skip inputs so that all three streams can train together.
        self.skip_scale = {s.name: s.at_once_scale if at_once_scaling else 1.0 for s in DECODER if s.kind == "skip"}

        in_ch = 3
        for name in WIDTH_LAYERS:  # conv1_1 .. conv5_3, fc6, fc7: each reads the previous width
            out_ch = self.widths[name]
            self.add_module(name, nn.Conv2d(in_ch, out_ch, KERNEL[name], padding=PADDING[name]))
            in_ch = out_ch
        self.pool = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.drop = nn.Dropout(dropout)

        # Scorers, then deconvolutions: the order of the Caffe model's parameters (and of its state dict).
        for name, reads in SCORERS.items():
            self.add_module(name, nn.Conv2d(self.widths[reads], num_classes, 1))
        for step in UPSCORES:
            self.add_module(
                step.name, nn.ConvTranspose2d(num_classes, num_classes, step.kernel, stride=step.stride, bias=False)
            )
        self.reset_parameters(learn_upsampling)

    def reset_parameters(self, learn_upsampling: bool = False) -> None:
        """Kaiming init for the trunk (as torchvision's VGG), PyTorch's default for the scorers,
        bilinear filters for the deconvolutions, frozen unless `learn_upsampling`.

        Caffe FCN zero-fills the scorers, which suits fine-tuning a pretrained trunk; from
        scratch, zero scorers starve the trunk of gradient for the first hundreds of steps."""
        for name in WIDTH_LAYERS:
            conv = getattr(self, name)
            nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(conv.bias)
        for name in SCORERS:
            getattr(self, name).reset_parameters()
        for step in UPSCORES:
            deconv = getattr(self, step.name)
            with torch.no_grad():
                deconv.weight.copy_(bilinear_kernel(self.num_classes, step.kernel))
            deconv.weight.requires_grad_(learn_upsampling)

    def zero_scorers(self) -> None:
        """Score layers at zero: Caffe FCN and pytorch-fcn start them so on a pretrained trunk,
        so the first steps fit the scorers to the trunk's features before moving the trunk."""
        with torch.no_grad():
            for name in SCORERS:
                getattr(self, name).weight.zero_()
                getattr(self, name).bias.zero_()

    def forward(self, x: torch.Tensor, skip_border: bool = False) -> torch.Tensor:
        """Class scores `(N, num_classes, H, W)` for images `(N, 3, H, W)`: the trunk's stages,
        then the decoder's steps (`arch.DECODER`) in order. `skip_border`: the first stage without
        the work on conv1_1's zero border (`first_stage_on_image`): the same function, for training
        and scoring; the detection time is measured without it, layer by layer as Caffe runs them."""
        pools = {}
        h = x
        for i, stage in enumerate(STAGES):
            if i == 0 and skip_border:
                h = first_stage_on_image(self, h)
            else:
                for name in stage:
                    h = F.relu(getattr(self, name)(h), inplace=True)
            h = self.pool(h)
            pools[stage[-1]] = h  # pool3 is keyed by conv3_3, pool4 by conv4_3
        for name in FC_LAYERS:
            h = self.drop(F.relu(dense(getattr(self, name), h), inplace=True))
        for step in DECODER:
            layer = getattr(self, step.name)
            if step.kind == "skip":
                scale = self.skip_scale[step.name]
                pooled = pools[step.reads] if scale == 1.0 else pools[step.reads] * scale
                h = h + _crop(layer(pooled), step.crop, h)
            else:
                h = layer(h)
                if step.crop is not None:  # the output: the input image's size
                    h = _crop(h, step.crop, x)
        return h
