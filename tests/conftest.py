"""Shared fixtures: compose the real conf/ tree the way the app does."""

from __future__ import annotations

import os

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig

from fcn_ablation.cli import config_dir
from fcn_ablation.config import register

register()


def compose_config(overrides=()):
    """The config `python -m fcn_ablation <overrides>` would run with (HydraConfig set, so
    `${hydra:...}` interpolations such as the experiment's name resolve)."""
    with initialize_config_dir(config_dir(), version_base="1.3"):
        cfg = compose("config", overrides=list(overrides), return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    return cfg


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


def tiny_overrides(tmp_path, cache_dir, *extra):
    """Settings that run a whole job in a few seconds."""
    return [
        f"paths.results_dir={tmp_path}/results",
        f"paths.cache_dir={cache_dir}",
        "dataset.synthetic.num_images=40",
        "dataset.synthetic.size=32",
        "dataset.batch_size=8",
        "model.width_multiplier=0.03125",
        "trainer.max_epochs=1",
        "trainer.enable_progress_bar=false",
        "timing.warmup=1",
        "report.rounds=2",
        "report.warmup=0",
        "report.permutations=200",
        "report.width_multiplier=0.03125",
        "logger=none",
        *extra,
    ]


os.environ.setdefault("WANDB_MODE", "offline")
