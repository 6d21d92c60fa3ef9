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
from fcn_ablation.models.border import first_stages


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


def upsample(deconv: nn.ConvTranspose2d, x: torch.Tensor, skip_zeros: bool) -> torch.Tensor:
    """`deconv(x)`; with `skip_zeros`, when its kernel maps channel i to channel i only (the
    bilinear filters, frozen), as one deconvolution per channel: the same sums without the
    off-diagonal zero kernels (half the work with two classes)."""
    w = deconv.weight
    c = w.shape[0]
    if not skip_zeros or w.requires_grad or c != w.shape[1] or c == 1:
        return deconv(x)
    # checked once per version of the weights (a check per step would wait for the device)
    version = (w.data_ptr(), w._version)
    if getattr(deconv, "_per_channel", (None,))[0] != version:
        deconv._per_channel = (version, bool(torch.count_nonzero(w) == torch.count_nonzero(w[range(c), range(c)])))
    if not deconv._per_channel[1]:
        return deconv(x)
    return F.conv_transpose2d(x, w[range(c), range(c)].unsqueeze(1), stride=deconv.stride, groups=c)


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

    def forward(self, x: torch.Tensor, skip_zeros: bool = False) -> torch.Tensor:
        """Class scores `(N, num_classes, H, W)` for images `(N, 3, H, W)`: the trunk's stages,
        then the decoder's steps (`arch.DECODER`) in order. `skip_zeros`: without the work on known
        zeros (conv1_1's border in the first stages: `models.border`; the deconvolutions' zero
        kernels: `upsample`): the same function, for training and scoring; the detection time is
        measured without it, layer by layer as Caffe runs them."""
        h, pools, done = first_stages(self, x, STAGES, PADDING, set(SCORERS.values())) if skip_zeros else (x, {}, 0)
        for stage in STAGES[done:]:
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
                h = upsample(layer, h, skip_zeros)
                if step.crop is not None:  # the output: the input image's size
                    h = _crop(h, step.crop, x)
        return h
