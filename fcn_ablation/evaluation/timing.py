"""Detection time: the one timing path of the project (the run's test-set time and the
benchmark, `fcn_ablation.bench.inference`, both go through `prepare` and `timed`).

Only the model's forward pass is timed: inputs are loaded and moved to the device first (that
time is reported apart), the model runs in eval and inference mode, a few warm-up passes come
first, and the device is synchronised before each clock read so asynchronous GPU work is
counted where it happens. Speed options (precision, channels-last memory, `torch.compile`,
cuDNN's autotuner) are applied in `prepare`, the same way for both; `best_benchmarked` lets a
run take the fastest combination the benchmark measured on its device.
"""

from __future__ import annotations

import contextlib
import math
import platform
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from fcn_ablation import results_layout
from fcn_ablation.config.rows import BASELINE
from fcn_ablation.config.schema import Precision, SpeedConfig
from fcn_ablation.errors import ConfigError

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def dtype_of(opts: SpeedConfig) -> torch.dtype:
    """The tensor type of `opts.precision`."""
    return DTYPES[Precision(opts.precision).value]


@dataclass(frozen=True)
class DetectionTime:
    n_images: int
    total_s: float  # forward passes only
    ms_per_image: float
    load_s: float  # reading, decoding and moving the inputs to the device


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def prepare(model: torch.nn.Module, device, opts: SpeedConfig | None = None) -> Callable[[torch.Tensor], torch.Tensor]:
    """`model` in eval mode on `device` with `opts` applied; returns the forward to time. With
    `opts.cuda_graphs` its output is the graph's own buffer, overwritten by the next call of the
    same input size: clone it to keep it."""
    from fcn_ablation.config.speeds import why_not_on

    device = torch.device(device)
    opts = SpeedConfig() if opts is None else opts
    why = why_not_on(opts, device.type)
    if why:
        raise ConfigError(f"{opts.slug()}: {why}; drop it (fp32 or bf16, without tf32 and cuda_graphs)")
    if device.type == "cuda":
        from fcn_ablation.models.fast import set_tf32

        torch.backends.cudnn.benchmark = opts.cudnn_benchmark
        set_tf32(opts.tf32)
    model = model.eval().to(device)
    if opts.channels_last:
        model = model.to(memory_format=torch.channels_last)
    if opts.compile:  # inference only: let Inductor treat the weights as constants and pre-pack them
        import torch._inductor.config as inductor_config

        inductor_config.freezing = True
    fn = torch.compile(model) if opts.compile else model
    dtype = dtype_of(opts)

    def forward(x: torch.Tensor) -> torch.Tensor:
        if opts.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        # a graph must not capture autocast's cache of cast weights (PyTorch's CUDA-graph notes)
        autocast = (torch.autocast(device.type, dtype=dtype, cache_enabled=not opts.cuda_graphs)
                    if dtype != torch.float32 else contextlib.nullcontext())  # fmt: skip
        with torch.inference_mode(), autocast:
            return fn(x)

    return CudaGraphs(forward, device) if opts.cuda_graphs else forward


class CudaGraphs:
    """`forward` captured as one CUDA graph per input size and dtype, then replayed: one launch per
    pass instead of one per kernel. Each capture follows a few eager passes on a side stream (cuDNN's
    choices and the allocator settle there, as PyTorch's notes on CUDA graphs ask); all graphs share
    one memory pool. A new size is captured on its first call, so warm every size up before timing
    (`time_forward` does)."""

    def __init__(self, forward: Callable[[torch.Tensor], torch.Tensor], device: torch.device, settle: int = 3) -> None:
        self.forward, self.device, self.settle = forward, torch.device(device), settle
        self.graphs: dict[tuple, tuple[torch.Tensor, torch.cuda.CUDAGraph, torch.Tensor]] = {}
        self.pool = None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        key = (tuple(x.shape), x.dtype)
        if key not in self.graphs:
            self.graphs[key] = self._capture(x)
        static_in, graph, static_out = self.graphs[key]
        static_in.copy_(x)
        graph.replay()
        return static_out

    def _capture(self, x: torch.Tensor):
        static_in = x.detach().clone()
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):
            for _ in range(self.settle):
                self.forward(static_in)
        torch.cuda.current_stream(self.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, pool=self.pool):
            static_out = self.forward(static_in)
        self.pool = graph.pool()
        return static_in, graph, static_out


def timed(fn: Callable[[], object], device) -> float:
    """Seconds that `fn()` takes, the device synchronised on both sides."""
    device = torch.device(device)
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start


def time_forward(
    model: torch.nn.Module, images: Iterable[torch.Tensor], device, warmup: int = 5, opts: SpeedConfig | None = None
) -> DetectionTime:
    """Time `model(x)` once per image (batch of one, as the paper), after `warmup` passes."""
    device = torch.device(device)
    t0 = time.perf_counter()
    inputs = [x.unsqueeze(0) if x.dim() == 3 else x for x in images]
    inputs = [x.to(device) for x in inputs]
    sync(device)
    load_s = time.perf_counter() - t0
    if not inputs:
        raise ValueError("no images to time")
    was_training = model.training
    forward = prepare(model, device, opts)
    for i in range(warmup):
        forward(inputs[i % len(inputs)])
    opts = SpeedConfig() if opts is None else opts
    if opts.compile or opts.cuda_graphs or opts.cudnn_benchmark:  # each new size builds or tunes: not in the timing
        for x in {tuple(x.shape): x for x in inputs}.values():
            forward(x)
    total = sum(timed(lambda x=x: forward(x), device) for x in inputs)
    model.train(was_training)
    return DetectionTime(len(inputs), total, 1000 * total / len(inputs), load_s)


def device_slug(device: torch.device, threads: int | None = None) -> str:
    """The folder name of a device's benchmark results: the GPU's name, or the CPU model and threads."""
    device = torch.device(device)
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = f"{device.type}-{cpu_model()}-{threads or torch.get_num_threads()}t"
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def device_label(device: torch.device) -> str:
    """The device in words, for records and reports: the GPU's name, or the CPU model and threads."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU {cpu_model()}, {torch.get_num_threads()} threads"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def best_benchmarked(
    bench_dir: Path, device, precision: str, height: int, width: int, width_multiplier: float, tf32: bool = False
) -> tuple[SpeedConfig, Path] | None:
    """The speed options under which the benchmark's baseline ran fastest on this device.

    Only results at batch one, the same input size and width multiplier and the same `precision`
    and `tf32` compete: those change the arithmetic (and so the outputs), the other options only
    the speed. Returns the options and the `bench.csv` they come from, or None when nothing matches.
    """
    best: tuple[float, SpeedConfig, Path] | None = None
    for cfg_path in sorted(
        results_layout.in_bench_root(bench_dir, device_slug(device), "*").parent.glob(f"*/{results_layout.CONFIG_YAML}")
    ):
        table = cfg_path.parent / results_layout.BENCH_CSV
        try:
            c = OmegaConf.load(cfg_path)
            times = pd.read_csv(table).set_index("variant")["ms_per_image"]
            same = (str(c.precision), bool(c.get("tf32", False)), int(c.batch_size), int(c.height), int(c.width)) == (
                str(getattr(precision, "value", precision)), bool(tf32), 1, height, width)  # fmt: skip
            if not (same and math.isclose(float(c.width_multiplier), width_multiplier) and BASELINE in times.index):
                continue
            options = SpeedConfig.of(c)
        except (
            OSError,
            ValueError,
            KeyError,
            AttributeError,
            OmegaConfBaseException,
            yaml.YAMLError,
        ):  # not a benchmark result
            continue
        if best is None or times[BASELINE] < best[0]:
            best = (float(times[BASELINE]), options, table)
    return None if best is None else best[1:]
