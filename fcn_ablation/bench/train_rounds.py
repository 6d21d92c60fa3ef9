"""Timing training steps two ways in interleaved rounds: the real job path (Lightning's Trainer
driving the `SaliencyModule`, its optimiser groups, loss and logging) and a plain PyTorch loop over
the same network, optimiser, batches, precision and memory format. `fcn-ablation-bench-train`
builds both and writes the tables (`bench/training.py`); this module only measures.

How the rounds interleave: Lightning's `fit` runs without a break, and a callback (`Rounds`) marks
round boundaries every `steps` optimiser steps. At each boundary it closes Lightning's round, then
runs the plain loop's round (before Lightning's next round in odd rounds, after it in even ones,
so that neither always goes first) and the dense matmul that measures the device's ceiling. Every
clock read follows a device synchronisation, in both paths alike, so a GPU's queued work is counted
in the step that queued it.

Per step, both paths record the wall time from the end of the previous step's optimiser update to
the start of this step's forward: fetching the batch from the loader, moving it to the device and
normalising it (and, in Lightning, its hooks in between). That over the round's time is the share
spent waiting for data.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pytorch_lightning as pl
import torch

from fcn_ablation.evaluation.timing import sync
from fcn_ablation.models.cost import model_cost
from fcn_ablation.models.fast import compilations, pad_to_bucket
from fcn_ablation.training.module import SaliencyModule, pixel_loss

LIGHTNING, PLAIN = "lightning", "plain"
AUTOCAST = {"bf16-mixed": torch.bfloat16, "bf16": torch.bfloat16, "16-mixed": torch.float16, "16": torch.float16}
FP32 = ("32-true", "32")


def matmul_dtype(precision: str) -> torch.dtype:
    """The dtype a mixed-precision step computes its products in (fp32 otherwise)."""
    return AUTOCAST.get(str(precision), torch.float32)


@lru_cache(maxsize=4096)
def _macs(widths: tuple, height: int, width: int, classes: int) -> int:
    return model_cost(dict(widths), height, width, classes)[1]


def train_flop(widths: dict, shape: torch.Size, bucket: int, classes: int) -> float:
    """Floating-point operations of one training step on a batch of `shape` (N, 3, H, W), by the
    usual convention: 3 x the forward's multiply-adds (forward, and the backward's two products)
    x 2 operations each, at the size the network computes (after padding to `bucket`)."""
    n, _, h, w = shape
    if bucket:
        h, w = h + (-h % bucket), w + (-w % bucket)
    return 6.0 * n * _macs(tuple(sorted(widths.items())), int(h), int(w), classes)


class PeakMemory:
    """Peak memory while a block runs, in MB: CUDA's max allocated on a GPU; on a CPU the process's
    peak resident set (Linux: VmHWM, reset through /proc/self/clear_refs; None elsewhere)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device

    @contextlib.contextmanager
    def measure(self, into: list):
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        else:
            self._reset_rss()
        yield
        if self.device.type == "cuda":
            into.append(torch.cuda.max_memory_allocated(self.device) / 2**20)
        else:
            into.append(self._rss_peak())

    @staticmethod
    def _reset_rss() -> None:
        with contextlib.suppress(OSError):
            Path("/proc/self/clear_refs").write_text("5")

    @staticmethod
    def _rss_peak() -> float | None:
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except (OSError, ValueError):
            pass
        return None


@dataclass
class RoundLog:
    """What one path did in one round."""

    path: str
    round: int
    position: int
    seconds: float = 0.0
    steps: int = 0
    images: int = 0
    flop: float = 0.0
    data_wait_s: float = 0.0
    peak_mem_mb: list = field(default_factory=list)

    def row(self) -> dict:
        peak = [p for p in self.peak_mem_mb if p is not None]
        return {"round": self.round, "position": self.position, "path": self.path, "seconds": self.seconds,
                "steps": self.steps, "images": self.images, "flop": self.flop, "data_wait_s": self.data_wait_s,
                "peak_mem_mb": max(peak) if peak else None}  # fmt: skip


def _epochs(loader):
    """`loader`'s batches epoch after epoch, each epoch's plan set as Lightning sets it (`set_epoch`)."""
    for epoch in itertools.count():
        if hasattr(loader.sampler, "set_epoch"):
            loader.sampler.set_epoch(epoch)
        yield from loader


class PlainLoop:
    """The same steps without Lightning: `module`'s network, optimiser groups and loss, its fast
    paths (memory format, compiled forward, size buckets), under `precision`'s autocast (and a
    gradient scaler for fp16), over `loader`'s batches moved and normalised as the data module does."""

    def __init__(self, module: SaliencyModule, loader, normalise: Callable, device: torch.device,
                 precision: str, total_steps: int) -> None:  # fmt: skip
        self.module, self.device, self.normalise = module, device, normalise
        module.net.to(device)
        if module.channels_last:
            module.net.to(memory_format=torch.channels_last)
        module.net.train()
        built = module.optimizers_for(total_steps)
        self.optimizer = built["optimizer"] if isinstance(built, dict) else built
        self.scheduler = built["lr_scheduler"]["scheduler"] if isinstance(built, dict) else None
        dtype = AUTOCAST.get(str(precision))
        self.autocast = (lambda: torch.autocast(device.type, dtype=dtype)) if dtype else contextlib.nullcontext
        self.scaler = torch.amp.GradScaler(device.type) if dtype is torch.float16 else None
        self.batches = _epochs(loader)
        self.pin = getattr(loader, "pin_memory", False)

    def step(self, log: RoundLog, flop_of: Callable[[torch.Size], float]) -> None:
        start = _now(self.device)
        batch = next(self.batches)
        image = self.normalise(batch["image"].to(self.device, non_blocking=self.pin))
        mask = batch["mask"].to(self.device, non_blocking=self.pin).long()
        log.data_wait_s += _now(self.device) - start
        log.images += image.shape[0]
        log.flop += flop_of(image.shape)
        m = self.module
        if m.size_bucket:
            image, mask = pad_to_bucket(image, mask, m.size_bucket)
        with self.autocast():
            loss = pixel_loss(m.train_forward(m.layout(image), skip_zeros=m.skip_zeros), mask, m.loss_reduction)
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            loss.backward()
            self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        log.steps += 1


def _now(device: torch.device) -> float:
    sync(device)
    return time.perf_counter()


class Rounds(pl.Callback):
    """Drives the interleaving from inside Lightning's `fit` (see the module's docstring): after
    `warmup` untimed steps of each path, `rounds` rounds of `steps` steps per path, plus one dense
    `matmul` per round."""

    def __init__(self, plain: PlainLoop, *, rounds: int, steps: int, warmup: int,
                 flop_of: Callable[[torch.Size], float], matmul: Callable[[], None], device: torch.device,
                 progress: Callable[[], None] = lambda: None) -> None:  # fmt: skip
        self.plain, self.rounds, self.steps, self.warmup = plain, rounds, steps, warmup
        self.flop_of, self.matmul, self.device, self.progress = flop_of, matmul, device, progress
        self.memory = PeakMemory(device)
        self.logs: list[RoundLog] = []
        self.matmul_s: list[float] = []
        self.compilations = {LIGHTNING: 0, PLAIN: 0}
        self.current: RoundLog | None = None
        self._peak: contextlib.AbstractContextManager | None = None
        self.last_end = self.round_start = 0.0
        self._graphs = 0  # compilations seen when Lightning's current stretch began

    def on_train_start(self, trainer, pl_module) -> None:
        graphs = compilations()
        scratch = RoundLog(PLAIN, -1, 0)
        for _ in range(self.warmup):
            self.plain.step(scratch, self.flop_of)
        self.compilations[PLAIN] += compilations() - graphs
        self._graphs = compilations()
        self.last_end = _now(self.device)
        if self.warmup == 0:
            self._boundary(0)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        now = _now(self.device)
        if self.current is not None:
            self.current.data_wait_s += now - self.last_end
            self.current.images += batch["image"].shape[0]
            self.current.flop += self.flop_of(batch["image"].shape)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.last_end = _now(self.device)
        if self.current is not None:
            self.current.steps += 1
        done = trainer.global_step
        if done >= self.warmup and (done - self.warmup) % self.steps == 0:
            self._boundary((done - self.warmup) // self.steps)

    def _boundary(self, r: int) -> None:
        """Round `r - 1` of Lightning ends here and round `r` begins."""
        end = self.last_end
        if self.current is not None:
            self._peak.__exit__(None, None, None)
            self.current.seconds = end - self.round_start
            self.logs.append(self.current)
            self.current = None
            self.progress()
            if (r - 1) % 2 == 1:  # the plain loop goes second in odd rounds
                self._plain_round(r - 1, position=1)
        self.compilations[LIGHTNING] += compilations() - self._graphs
        if r < self.rounds:
            if r % 2 == 0:  # ... and first in even ones
                self._plain_round(r, position=0)
            self.matmul_s.append(self._time(self.matmul))
            self._graphs = compilations()
            self.current = RoundLog(LIGHTNING, r, 1 if r % 2 == 0 else 0)
            self._peak = self.memory.measure(self.current.peak_mem_mb)
            self._peak.__enter__()
            self.round_start = self.last_end = _now(self.device)

    def _plain_round(self, r: int, position: int) -> None:
        graphs = compilations()
        log = RoundLog(PLAIN, r, position)
        with self.memory.measure(log.peak_mem_mb):
            start = _now(self.device)
            for _ in range(self.steps):
                self.plain.step(log, self.flop_of)
            log.seconds = _now(self.device) - start
        self.compilations[PLAIN] += compilations() - graphs
        self.logs.append(log)

    def _time(self, fn: Callable[[], None]) -> float:
        start = _now(self.device)
        fn()
        return _now(self.device) - start
