"""Where a training step's time goes: torch.profiler over a few of the job path's own steps
(Lightning's, after the benchmark's timed rounds), each step's wall time split into the time the
device was busy and the time it waited.

A step's window runs from the end of one step to the end of the next (a device synchronisation on
both sides), so loading the batch and Lightning's hooks count in it, as in the benchmark's ms/step.
Busy time is the union of the device's activity in that window: CUDA kernels, copies and memsets
on a GPU; PyTorch operators on a CPU. What is left is idle: the GPU waiting on kernel launches, the
Python between them, the loader. At batch 1 a fast GPU is idle most of a step, which is why the
chip's arithmetic rate is far from reached. The Chrome trace is kept (`trace.json.gz`; open it in
Perfetto or chrome://tracing).
"""

from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path

import pandas as pd
import pytorch_lightning as pl
import torch

from fcn_ablation import results_layout
from fcn_ablation.evaluation.timing import sync
from fcn_ablation.files import atomic_write, atomic_write_text, write_csv
from fcn_ablation.markdown import markdown_table

STEP = "fcn_ablation::step"  # the profiler range of one step's window
BUSY = {"cuda": ("kernel", "gpu_memcpy", "gpu_memset"), "cpu": ("cpu_op",)}  # trace categories of device work
TOP = 12  # operators listed by their own device time


class StepProfile(pl.Callback):
    """Profiles the `steps` training steps after `start` optimiser steps; `trace` is then a Chrome
    trace of them (`torch.profiler`'s export) and `top` the operators that took the most time."""

    def __init__(self, start: int, steps: int, device: torch.device) -> None:
        self.start, self.steps, self.device = start, steps, torch.device(device)
        self.profiler = None
        self.range = None
        self.done = 0
        self.trace: dict | None = None
        self.top: pd.DataFrame | None = None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.steps < 1 or trainer.global_step < self.start or self.trace is not None:
            return
        sync(self.device)
        if self.profiler is None:
            from torch.profiler import ProfilerActivity, profile

            activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if self.device.type == "cuda" else [])
            self.profiler = profile(activities=activities)
            self.profiler.__enter__()
        else:
            self.range.__exit__(None, None, None)
            self.done += 1
            if self.done == self.steps:
                self._finish()
                return
        self.range = torch.profiler.record_function(STEP)
        self.range.__enter__()

    def _finish(self) -> None:
        self.profiler.__exit__(None, None, None)
        with tempfile.TemporaryDirectory(prefix="fcn-profile-") as tmp:
            path = Path(tmp) / "trace.json"
            self.profiler.export_chrome_trace(str(path))
            self.trace = json.loads(path.read_text())
        self.top = top_operators(self.profiler.key_averages(), self.device.type)


def top_operators(averages, device_type: str, n: int = TOP) -> pd.DataFrame:
    """The `n` operators with the most self time on the device (self CPU time on a CPU)."""

    def own(a) -> float:
        if device_type == "cuda":
            return float(getattr(a, "self_device_time_total", getattr(a, "self_cuda_time_total", 0.0)))
        return float(a.self_cpu_time_total)

    rows = [{"operator": a.key, "calls": int(a.count), "self_ms": own(a) / 1000} for a in averages if a.key != STEP]
    t = pd.DataFrame(rows, columns=["operator", "calls", "self_ms"]).sort_values("self_ms", ascending=False)
    total = t.self_ms.sum()
    t["share"] = t.self_ms / total if total > 0 else float("nan")
    return t.head(n).reset_index(drop=True)


def _union(intervals: list[tuple[float, float]], lo: float, hi: float) -> float:
    """Length of the union of `intervals` clipped to [lo, hi]."""
    covered, end = 0.0, lo
    for a, b in sorted((max(a, lo), min(b, hi)) for a, b in intervals if b > lo and a < hi):
        if b > end:
            covered += b - max(a, end)
            end = b
    return covered


def step_times(trace: dict, device_type: str) -> pd.DataFrame:
    """Per profiled step: wall ms, device-busy ms (`BUSY`'s categories), idle ms and the busy share."""
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    cats = BUSY["cuda" if device_type == "cuda" else "cpu"]
    steps = sorted(
        (e["ts"], e["ts"] + e["dur"]) for e in events if e.get("cat") == "user_annotation" and e.get("name") == STEP
    )
    busy = [(e["ts"], e["ts"] + e["dur"]) for e in events if e.get("cat") in cats and "dur" in e]
    rows = []
    for i, (lo, hi) in enumerate(steps):
        wall, on = (hi - lo) / 1000, _union(busy, lo, hi) / 1000
        rows.append(
            {
                "step": i,
                "wall_ms": wall,
                "busy_ms": on,
                "idle_ms": wall - on,
                "busy_share": on / wall if wall > 0 else float("nan"),
            }
        )
    return pd.DataFrame(rows, columns=["step", "wall_ms", "busy_ms", "idle_ms", "busy_share"])


def write(profile: StepProfile, out: Path, settings: str, device: str) -> pd.DataFrame:
    """`profile.csv` (per step), `profile.md` (in words, with the top operators) and
    `trace.json.gz` in `out`; returns the per-step table (`step_times`)."""
    steps = step_times(profile.trace, profile.device.type)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(steps, out / results_layout.PROFILE_CSV)
    trace = gzip.compress(json.dumps(profile.trace).encode(), mtime=0)
    atomic_write(out / results_layout.TRACE_JSON_GZ, lambda f: f.write(trace))
    what = "CUDA kernels, copies and memsets" if profile.device.type == "cuda" else "PyTorch operators"
    med = steps.median(numeric_only=True)
    top = profile.top.assign(share=profile.top.share.map(lambda v: f"{100 * v:.1f} %"))
    lines = [
        f"# Profile of the job path's training steps: {device}",
        "",
        f"`{settings}`, {len(steps)} steps after the benchmark's rounds (torch.profiler).",
        "",
        f"**Per step (median): {med.wall_ms:.2f} ms wall, the device busy {med.busy_ms:.2f} ms ({100 * med.busy_share:.0f} %), "
        f"idle {med.idle_ms:.2f} ms.**",
        "",
        markdown_table(steps, index=False, floatfmt=".3f"),
        "",
        f"- busy: the union of the device's activity ({what}) within the step's window, which runs from the end of the "
        "previous step to the end of this one (loading the batch and Lightning's hooks included); idle: the rest.",
        "",
        f"The {len(top)} operators with the most own {'device' if profile.device.type == 'cuda' else 'CPU'} time over these steps:",
        "",
        markdown_table(top, index=False, floatfmt=".3f"),
        "",
        f"The trace: `{results_layout.TRACE_JSON_GZ}` (Perfetto, chrome://tracing).",
    ]
    md = out / results_layout.PROFILE_MD
    atomic_write_text(md, "\n".join(lines) + "\n")
    return steps
