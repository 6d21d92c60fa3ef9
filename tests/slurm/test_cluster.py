"""Sweeps on a real SLURM cluster (`tests/slurm/cluster.sh start`: one node, accounting on), through
`launcher=submitit_slurm`, as a user runs them. Skipped, with the reason, where no cluster answers.
The results folder is under the test's temporary folder: on one node, storage every job shares."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import cli, tiny_overrides


def _cluster_up() -> str | None:
    """None when a SLURM cluster answers here with an idle node, else why not."""
    if shutil.which("sinfo") is None:
        return "no SLURM client here (tests/slurm/cluster.sh install && tests/slurm/cluster.sh start, as root)"
    try:
        res = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return "sinfo did not answer in 20 s"
    if res.returncode != 0 or not any(s.strip().startswith(("idle", "mix")) for s in res.stdout.splitlines()):
        return f"no idle SLURM node (sinfo: {(res.stdout + res.stderr).strip()[:200]}); start one: tests/slurm/cluster.sh start"
    return None


pytestmark = pytest.mark.skipif(_cluster_up() is not None, reason=str(_cluster_up()))


def slurm_args(tmp_path: Path, cache_dir, *extra) -> list[str]:
    """A tiny sweep on the launcher's defaults (no GPU asked for with trainer=cpu, no memory request)."""
    return ["-m", "launcher=submitit_slurm", *tiny_overrides(tmp_path, cache_dir), "hydra.launcher.cpus_per_task=1",
            "hydra.launcher.timeout_min=10", *extra]  # fmt: skip


def store_files(results: Path) -> list[Path]:
    return sorted((results / "store").glob("*/*/*.json"))


def test_a_sweep_runs_on_the_cluster_reports_and_a_rerun_adds_nothing(tmp_path, cache_dir):
    args = slurm_args(tmp_path, cache_dir, "experiment=baseline,e")
    res = cli(*args, cwd=tmp_path, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "report:" in res.stdout
    first = store_files(tmp_path / "results")
    assert [p.name.split("-")[0] for p in first] == ["baseline", "e"]
    again = cli(*args, cwd=tmp_path, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert store_files(tmp_path / "results") == first  # both jobs found done: nothing trained, nothing filed


def test_a_job_that_fails_on_the_cluster_is_one_line_and_the_report_holds_the_rest(tmp_path, cache_dir):
    """One job of two stops on bad input inside its SLURM job (an unwritable cache): the sweep ends
    with the report of the other, one `failed:` line naming the job's log and what it said, "rerun
    the same command" once, and a non-zero status; no traceback."""
    args = slurm_args(tmp_path, cache_dir, "experiment=baseline", f"paths.cache_dir={cache_dir},/proc/nope")
    res = cli(*args, cwd=tmp_path, timeout=600)
    assert res.returncode == 2, res.stderr[-3000:]
    assert "report:" in res.stdout and "Traceback" not in res.stderr
    failed = [line for line in res.stderr.splitlines() if line.startswith("failed:")]
    assert len(failed) == 1 and "paths.cache_dir" in failed[0] and "_log.err" in failed[0], failed
    assert res.stderr.count("rerun the same command") == 1
    assert len(store_files(tmp_path / "results")) == 1
