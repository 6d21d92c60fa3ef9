"""Fixtures; what tests share as functions lives in `helpers.py`."""

from __future__ import annotations

import os

from fcn_ablation.machine import usable_cores  # torch-free: it must come before torch

# Under pytest-xdist (`-n auto`, as CI runs the suite) every worker is one more process on the same
# cores: each gets its share of threads, or their OpenMP threads contend and every test slows.
# Before torch is imported; jobs honour it too (`training.cpu_budget.cpu_budget`).
if os.environ.get("PYTEST_XDIST_WORKER") and "OMP_NUM_THREADS" not in os.environ:
    _cores = usable_cores()
    os.environ["OMP_NUM_THREADS"] = str(max(1, _cores // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))))

import pytest  # noqa: E402


def pytest_xdist_auto_num_workers(config):
    """`-n auto`: a worker per core, and one more while a SLURM cluster answers: its tests
    (tests/slurm) spend minutes waiting on the scheduler and the requeue delay, and that worker's
    core would idle meanwhile."""
    import shutil
    import subprocess

    cores = usable_cores()
    if shutil.which("sinfo") is None:
        return cores
    try:
        res = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return cores
    return cores + 1 if res.returncode == 0 and "idle" in res.stdout else cores


from helpers import compose_config  # noqa: E402


@pytest.fixture
def compose_cfg():
    return compose_config


@pytest.fixture(autouse=True)
def _offline_wandb(monkeypatch, tmp_path):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_SILENT", "true")
    yield


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("cache"))


os.environ.setdefault("WANDB_MODE", "offline")
