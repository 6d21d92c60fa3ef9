"""Analytic cost of an FCN-8s width mapping: parameters and multiply-accumulates (MACs).

Computed from the layer table alone (no module is built), so that a sweep can report the cost
of a variant before training it. Convolutions count `out_h*out_w*k*k*c_in*c_out` MACs;
deconvolutions count `in_h*in_w*k*k*c_in*c_out` (each input pixel scatters one kernel),
which is what `torch.utils.flop_counter` counts (2 FLOPs per MAC). Bias additions, ReLU and
pooling are not counted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from fcn_ablation.models.arch import DECODER, FC_LAYERS, KERNEL, PADDING, STAGES


@dataclass(frozen=True)
class LayerCost:
    name: str
    in_channels: int
    out_channels: int
    kernel: int
    out_hw: tuple[int, int]
    params: int
    macs: int


def _conv(name, cin, cout, k, pad, hw, bias=True) -> LayerCost:
    out = tuple(s + 2 * pad - k + 1 for s in hw)
    return LayerCost(
        name, cin, cout, k, out, k * k * cin * cout + (cout if bias else 0), out[0] * out[1] * k * k * cin * cout
    )


def _pool(hw: tuple[int, int]) -> tuple[int, int]:
    return tuple(math.ceil((s - 2) / 2) + 1 for s in hw)


def layer_costs(widths: Mapping[str, int], height: int, width: int, num_classes: int = 2) -> list[LayerCost]:
    """Per-layer cost, in network order, for one `height x width` image."""
    rows: list[LayerCost] = []
    hw, cin, pooled = (height, width), 3, {}
    for stage in STAGES:
        for name in stage:
            rows.append(_conv(name, cin, widths[name], KERNEL[name], PADDING[name], hw))
            hw, cin = rows[-1].out_hw, widths[name]
        hw = _pool(hw)
        pooled[stage[-1]] = hw
    for name in FC_LAYERS:
        rows.append(_conv(name, cin, widths[name], KERNEL[name], PADDING[name], hw))
        hw, cin = rows[-1].out_hw, widths[name]
    for step in DECODER:
        if step.kind == "score":
            rows.append(_conv(step.name, cin, num_classes, 1, 0, hw))
            hw, cin = rows[-1].out_hw, num_classes
        elif step.kind == "skip":
            rows.append(_conv(step.name, widths[step.reads], num_classes, 1, 0, pooled[step.reads]))
            # cropped to the running map: the running size is unchanged
        else:
            k, s = step.kernel, step.stride
            out = tuple((n - 1) * s + k for n in hw)
            macs = hw[0] * hw[1] * k * k * num_classes * num_classes
            rows.append(LayerCost(step.name, num_classes, num_classes, k, out, k * k * num_classes * num_classes, macs))
            hw = out
    return rows


def model_cost(widths: Mapping[str, int], height: int, width: int, num_classes: int = 2) -> tuple[int, int]:
    """(parameters, MACs) of the whole network for one `height x width` image."""
    rows = layer_costs(widths, height, width, num_classes)
    return sum(r.params for r in rows), sum(r.macs for r in rows)
