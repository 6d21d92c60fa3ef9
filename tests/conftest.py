"""Fixtures; what tests share as functions lives in `helpers.py`."""

from __future__ import annotations

import os

import pytest

from helpers import compose_config


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
