"""Training fast paths (`train_speed.*`): TF32, padding to size buckets, compiling the training
forward, and counting what the compiler built.

Native-size training sees a new image size almost every step. Inductor's dynamic shapes fail on
FCN-8s in torch 2.13 (the symbolic sizes of the crops and of fc6's output cannot be ordered), and a
static compilation per size costs tens of seconds each, so a compiled network is fed size buckets:
each batch is padded up to multiples of `size_bucket` pixels with the mean colour (0 after
normalisation) and a mask the loss ignores. MSRA10K's sizes (long side 400, short 200..400) then
make at most 14 graphs with buckets of 32, 8 with 64.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from fcn_ablation.data.transforms import IGNORE

# Every bucket of a data set is a graph of its own: let the compiler keep them all.
MAX_GRAPHS = 64


def set_tf32(on: bool) -> None:
    """TF32 for CUDA matmuls and convolutions when `on`; otherwise true fp32 for both (PyTorch's own
    default lets convolutions use TF32, which would make an "fp32" row a TF32 one)."""
    torch.backends.cuda.matmul.allow_tf32 = on
    torch.backends.cudnn.allow_tf32 = on


def pad_to_bucket(image: torch.Tensor, mask: torch.Tensor, bucket: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A normalised batch (N, 3, H, W) and its mask (N, H, W) padded at the bottom and right up to
    multiples of `bucket`: the image with 0 (the mean colour), the mask with `IGNORE`."""
    h, w = image.shape[-2:]
    ph, pw = -h % bucket, -w % bucket
    if not (ph or pw):
        return image, mask
    return F.pad(image, (0, pw, 0, ph), value=0.0), F.pad(mask, (0, pw, 0, ph), value=IGNORE)


def compile_for_training(net: torch.nn.Module, mode: str = "default") -> torch.nn.Module:
    """`net` compiled by Inductor with static shapes (one graph per input size: see the module's
    docstring) in torch.compile's `mode` (`reduce-overhead`: replayed from CUDA graphs on a GPU,
    compiled alone elsewhere); the weights stay `net`'s own, so its state dict is unchanged."""
    import torch._dynamo

    limit = "recompile_limit" if hasattr(torch._dynamo.config, "recompile_limit") else "cache_size_limit"
    setattr(torch._dynamo.config, limit, max(getattr(torch._dynamo.config, limit), MAX_GRAPHS))
    return torch.compile(net, dynamic=False, mode=None if mode == "default" else mode)


def compilations() -> int:
    """Graphs the compiler has built in this process so far (each new input size of a compiled
    network is one)."""
    from torch._dynamo.utils import counters

    return int(counters["stats"]["unique_graphs"])
