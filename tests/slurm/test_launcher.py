"""The cluster launcher's checks that need no cluster (a stand-in `scontrol` on PATH)."""

from __future__ import annotations

import os
import stat

import pytest


@pytest.mark.parametrize(
    "storage, off", [("accounting_storage/none", True), ("accounting_storage/slurmdbd", False), (None, False)]
)
def test_a_cluster_without_accounting_is_refused_before_anything_is_submitted(tmp_path, monkeypatch, storage, off):
    """submitit learns a job's end from sacct: without accounting a killed job would keep the sweep
    waiting for ever, so the launcher says so in one line first (checked on the real cluster too)."""
    from hydra_plugins.fcn_ablation_launchers.launcher import accounting_off

    fake = tmp_path / "scontrol"
    lines = ["ClusterName             = fcn"] + ([f"AccountingStorageType   = {storage}"] if storage else [])
    fake.write_text("#!/bin/sh\ncat <<'END'\n" + "\n".join(lines) + "\nEND\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    why = accounting_off()
    assert (why is not None) == off
    if off:
        assert "accounting is off" in why and "sacct" in why and "\n" not in why
