"""Detection time: the one timing path of the project (the run's test-set time uses it).

Only the model's forward pass is timed: inputs are loaded and moved to the device first (that
time is reported apart), the model runs in eval and inference mode, a few warm-up passes come
first, and the device is synchronised before each clock read so asynchronous GPU work is
counted where it happens.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class DetectionTime:
    n_images: int
    total_s: float  # forward passes only
    ms_per_image: float
    load_s: float  # reading, decoding and moving the inputs to the device


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def time_forward(model: torch.nn.Module, images: Iterable[torch.Tensor], device, warmup: int = 5) -> DetectionTime:
    """Time `model(x)` once per image (batch of one, as the paper), after `warmup` passes."""
    device = torch.device(device)
    t0 = time.perf_counter()
    inputs = [x.unsqueeze(0) if x.dim() == 3 else x for x in images]
    inputs = [x.to(device) for x in inputs]
    _sync(device)
    load_s = time.perf_counter() - t0
    if not inputs:
        raise ValueError("no images to time")
    was_training = model.training
    model.eval()
    total = 0.0
    with torch.inference_mode():
        for i in range(warmup):
            model(inputs[i % len(inputs)])
        _sync(device)
        for x in inputs:
            start = time.perf_counter()
            model(x)
            _sync(device)
            total += time.perf_counter() - start
    model.train(was_training)
    return DetectionTime(len(inputs), total, 1000 * total / len(inputs), load_s)
