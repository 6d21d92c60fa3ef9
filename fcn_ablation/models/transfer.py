"""Cutting a trained, wider FCN-8s (or VGG16) down to a narrower one: the paper's kernel copy
and its alternatives.

The paper keeps the first k kernels of each thinned layer ("sequentially"); its conclusion asks
about other choices. A rule picks which output kernels of a layer survive; the next layer then
keeps exactly the matching input channels, so the surviving sub-network computes what it did
in the source. Layers of equal width are copied whole under every rule, which is why a model
"narrowed" to the source's own widths reproduces the source exactly.
"""

from __future__ import annotations

import torch

from fcn_ablation.errors import ConfigError
from fcn_ablation.models.arch import SCORERS, UPSCORES, WIDTH_LAYERS
from fcn_ablation.models.choices import TransferRule
from fcn_ablation.models.fcn8s import FCN8s


def choose_kernels(weight: torch.Tensor, k: int, rule: TransferRule | str, generator: torch.Generator) -> torch.Tensor:
    """Sorted indices of the `k` output kernels of `weight` (out, in, kh, kw) to keep."""
    n = weight.shape[0]
    if k == n:
        return torch.arange(n)
    rule = TransferRule(rule)
    if rule is TransferRule.first_k:
        return torch.arange(k)
    if rule is TransferRule.random:
        return torch.randperm(n, generator=generator)[:k].sort().values
    norms = weight.detach().abs().flatten(1).sum(1)
    return torch.argsort(-norms, stable=True)[:k].sort().values  # l1_norm; ties to the lower index


def transfer(
    source: dict[str, torch.Tensor], net: FCN8s, rule: TransferRule | str, seed: int = 0
) -> dict[str, list[int]]:
    """Load the kept part of `source` (an FCN8s-style state dict, possibly wider) into `net`.

    Score layers follow their input's kept channels; deconvolutions and score layers are taken
    only where the source has them with the same number of classes. Returns the kept output
    indices of every trunk layer (for the record)."""
    g = torch.Generator().manual_seed(seed)
    new: dict[str, torch.Tensor] = {}
    kept: dict[str, torch.Tensor] = {}
    kept_in = torch.arange(3)
    for name in WIDTH_LAYERS:
        w, b = source[f"{name}.weight"], source[f"{name}.bias"]
        k = net.widths[name]
        if k > w.shape[0]:
            raise ConfigError(
                f"init: {name} has {k} kernels here but only {w.shape[0]} in the source; a transfer can only narrow"
            )
        out = choose_kernels(w, k, rule, g)
        new[f"{name}.weight"] = w[out][:, kept_in].clone()
        new[f"{name}.bias"] = b[out].clone()
        kept[name], kept_in = out, out
    for scorer, trunk in SCORERS.items():  # each keeps the channels of the trunk layer it reads
        w = source.get(f"{scorer}.weight")
        if w is not None and w.shape[0] == net.num_classes:
            new[f"{scorer}.weight"] = w[:, kept[trunk]].clone()
            new[f"{scorer}.bias"] = source[f"{scorer}.bias"].clone()
    for up in (step.name for step in UPSCORES):
        w = source.get(f"{up}.weight")
        if w is not None and w.shape == getattr(net, up).weight.shape:
            new[f"{up}.weight"] = w.clone()
    with torch.no_grad():
        for key, value in new.items():
            net.get_parameter(key).copy_(value)
    return {name: idx.tolist() for name, idx in kept.items()}
