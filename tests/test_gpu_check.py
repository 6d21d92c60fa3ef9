"""The GPU check rehearsed on the CPU (`DEVICE=cpu SCALE=tiny`): the same script, steps and files
as on a GPU box, at a scale that takes about a minute here. It runs as the box will most likely
find things: W&B not installed (the commands must then run with logger=none, and the log say so)."""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_gpu_check_runs_whole_and_brings_everything_back_in_one_archive(tmp_path):
    blocked = tmp_path / "no_wandb"
    blocked.mkdir()
    (blocked / "wandb.py").write_text('raise ImportError("wandb is not installed here (blocked by the test)")\n')
    out = tmp_path / "out"
    env = {**os.environ, "DEVICE": "cpu", "SCALE": "tiny", "OUT": str(out), "PYTHONPATH": str(blocked),
           "VGG16": str(tmp_path / "vgg16.pth"), "OMP_NUM_THREADS": "2"}  # fmt: skip
    res = subprocess.run(
        ["bash", str(ROOT / "sweeps" / "gpu_check.sh")], env=env, capture_output=True, text=True, timeout=600
    )
    log = (out / "gpu_check.log").read_text()
    assert res.returncode == 0, log[-3000:] + res.stderr[-2000:]
    assert "W&B is not installed here: every command runs with logger=none" in log
    steps = [line for line in log.splitlines() if line.startswith("== [")]
    assert [s.split("] ", 1)[1][:2] for s in steps] == ["1.", "2.", "3.", "4.", "do"] and "done (exit 0)" in steps[-1]

    with tarfile.open(out / "gpu_check.tar.gz") as tar:
        names = tar.getnames()
        tar.extractall(tmp_path / "unpacked", filter="data")
    back = tmp_path / "unpacked"
    assert not [n for n in names if n.endswith((".ckpt", "model.pt"))]  # weights stay behind
    # 1. Table 3 under every setting: nine rows, one column per setting, intervals, the paper beside
    (speeds,) = back.glob("bench/*/speeds-64x48-w0.03125-baseline+a+b+c+d+e+f+g+h.csv")
    t = pd.read_csv(speeds)
    assert list(dict.fromkeys(t.setting)) == ["fp32", "bf16", "fp32-b2"]
    assert sorted(set(t.variant)) == ["a", "b", "baseline", "c", "d", "e", "f", "g", "h"]
    assert t.time_ratio_ci_low.notna().all() and t[t.variant == "a"].paper_time_ratio.notna().all()
    # 3. four training benchmarks on a CPU (five on a GPU): the paper recipe's two profiled, one compiled, one at a batch of 4
    trains = sorted(p.name for p in back.glob("bench/*/train-*"))
    assert (
        len(trains) == 4
        and any("compile-reduce-overhead" in n for n in trains)
        and any(n.endswith("-modern-w0.03125-bf16-mixed-cl-fused-b4") for n in trains)  # no skip_zeros: honest FLOP/s
    )
    assert len(list(back.glob("bench/*/train-*/profile.md"))) == 2
    # 2. the sweep finished: both jobs' records in the store, the report with its Table 3 under two settings
    assert len(list(back.glob("store/synthetic_native/*/*.json"))) == 2
    (report,) = back.glob("synthetic_native/*/report.md")
    assert "## Detection time under every speed setting" in report.read_text()
    assert len(pd.read_csv(next(report.parent.glob("speeds-*.csv"))).variant.unique()) == 2
