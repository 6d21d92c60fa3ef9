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


pytestmark = [pytest.mark.slow, pytest.mark.skipif(_cluster_up() is not None, reason=str(_cluster_up()))]


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
    assert "benchmark: submitted as job" in res.stdout  # where the jobs ran, not on the launching machine
    assert list((tmp_path / "results" / "synthetic").glob("*/bench/*/*/bench.json"))
    first = store_files(tmp_path / "results")
    assert [p.name.split("-")[0] for p in first] == ["baseline", "e"]
    again = cli(*args, cwd=tmp_path, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert store_files(tmp_path / "results") == first  # both jobs found done: nothing trained, nothing filed
    assert "2 of 2 jobs are done already; 0 submitted" in again.stdout  # nothing queued at all,
    assert "benchmarked already" in again.stdout  # not even the benchmark
    sweeps = sorted((tmp_path / "results" / "multiruns").iterdir())
    assert len(sweeps) == 2 and not (sweeps[1] / ".submitit").exists()


def test_a_job_that_fails_on_the_cluster_is_one_line_and_the_report_holds_the_rest(tmp_path, cache_dir):
    """One job of two stops on bad input inside its SLURM job (an unwritable cache): the sweep ends
    with the report of the other, one `failed:` line naming the job's log and what it said, "rerun
    the same command" once, and a non-zero status; no traceback."""
    args = slurm_args(
        tmp_path, cache_dir, "experiment=baseline", f"paths.cache_dir={cache_dir},/proc/nope", "report.bench=false"
    )  # fmt: skip  (the benchmark job: tested above)
    res = cli(*args, cwd=tmp_path, timeout=600)
    assert res.returncode == 2, res.stderr[-3000:]
    assert "report:" in res.stdout and "Traceback" not in res.stderr
    failed = [line for line in res.stderr.splitlines() if line.startswith("failed:")]
    assert len(failed) == 1 and "paths.cache_dir" in failed[0] and "_log.err" in failed[0], failed
    assert res.stderr.count("rerun the same command") == 1
    assert len(store_files(tmp_path / "results")) == 1


def _tasks(tmp_path: Path) -> dict[int, str]:
    """This test's running array tasks by index (a sweep's job number) -> SLURM id (`<array>_<index>`):
    the ones whose batch script lies under `tmp_path` (other tests share the cluster)."""
    out = subprocess.run(["squeue", "-h", "-t", "R", "-o", "%i|%o"], capture_output=True, text=True).stdout
    tasks = {}
    for line in out.splitlines():
        job_id, _, command = line.partition("|")
        if str(tmp_path) in command and "_" in job_id and "[" not in job_id:
            tasks[int(job_id.split("_")[1])] = job_id
    return tasks


def _first_checkpoints(results: Path, jobs: list[str], proc, timeout: float = 300) -> dict[str, int]:
    """The step of each job's first `last.ckpt` (its first epoch's end), once all are on disk."""
    import time

    import torch

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = {job: next(iter((results / "checkpoints").glob(f"*/*/{job}-*/last.ckpt")), None) for job in jobs}
        if all(found.values()):
            time.sleep(0.2)  # written by a rename: whole once it is there; let the job move on
            return {job: int(torch.load(p, map_location="cpu", weights_only=False)["global_step"])
                    for job, p in found.items()}  # fmt: skip
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        time.sleep(0.05)
    raise AssertionError(f"no first checkpoints of {jobs} under {results} in {timeout} s")


def test_a_cancelled_job_resumes_on_the_rerun_and_a_requeued_one_from_the_step_it_was_signalled_at(tmp_path, cache_dir):
    """Two jobs in their second epoch: SLURM's time-out/pre-emption signal (SIGUSR2, as `--signal`
    sends it before the time limit) reaches one, `scancel` the other. The signalled job saves the
    step it was at, submitit requeues it and it resumes from that step (not from its epoch's end);
    the cancelled one ends the sweep in one `failed:` line with the other's report; the rerun
    submits only the cancelled job, which resumes from its checkpoint; no record twice."""
    from helpers import start

    long = [
        "dataset.synthetic.num_images=400",
        "dataset.batch_size=1",
        "trainer.max_epochs=3",
        "trainer.check_val_every_n_epoch=10",
        "report.bench=false",
    ]  # fmt: skip  (the benchmark job: tested above)
    args = slurm_args(tmp_path, cache_dir, "experiment=baseline,e", *long)
    results = tmp_path / "results"
    proc = start(*args, cwd=tmp_path)
    first = _first_checkpoints(results, ["baseline", "e"], proc)
    tasks = _tasks(tmp_path)
    assert sorted(tasks) == [0, 1], tasks
    subprocess.run(["scancel", "--signal=USR2", tasks[0]], check=True)  # baseline: requeued
    subprocess.run(["scancel", tasks[1]], check=True)  # e: cancelled
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 2, err[-3000:]
    assert "report:" in out and "Traceback" not in err
    failed = [line for line in err.splitlines() if line.startswith("failed:")]
    assert len(failed) == 1 and "CANCELLED" in failed[0] and "_log.err" in failed[0], failed
    assert "terminated:" in failed[0] and "srun:" not in failed[0]  # the job's own closing line, not srun's
    import json

    (base,) = [json.loads(p.read_text()) for p in store_files(results)]
    steps_per_epoch = first["baseline"]
    assert base["experiment"] == "baseline" and base["train_steps"] == 3 * steps_per_epoch
    assert steps_per_epoch < base["resumed_from"]["step"] < 2 * steps_per_epoch, base["resumed_from"]

    again = cli(*args, cwd=tmp_path, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    records = [json.loads(p.read_text()) for p in store_files(results)]
    assert sorted(r["experiment"] for r in records) == ["baseline", "e"]
    (e,) = [r for r in records if r["experiment"] == "e"]
    assert e["resumed_from"]["step"] >= first["e"] and e["train_steps"] == 3 * first["e"]


@pytest.mark.parametrize(
    "extra, message",
    [
        ([], "hydra.launcher.cpus_per_task=8: no node of partition"),  # the launcher's default on a small node
        (
            ["hydra.launcher.cpus_per_task=1", "trainer=gpu"],
            "hydra.launcher.gpus_per_node=1 (asked for by trainer=gpu)",
        ),
        (
            ["hydra.launcher.cpus_per_task=1", "hydra.launcher.gres=gpu:1"],
            "sbatch refused the sweep's jobs: sbatch: error: Invalid generic resource (gres) specification",
        ),
    ],
)
def test_a_request_the_cluster_cannot_meet_is_one_line_at_submission(tmp_path, cache_dir, extra, message):
    """Issue 33, point 8, as a new user meets it: the launcher's defaults on a 2-CPU node, a GPU
    trainer on a partition without GPUs, a resource sbatch refuses; one line, nothing queued."""
    args = [
        "-m",
        "launcher=submitit_slurm",
        *tiny_overrides(tmp_path, cache_dir),
        "hydra.launcher.timeout_min=10",
        *extra,
    ]
    res = cli(*args, cwd=tmp_path, timeout=120)
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert res.returncode == 2 and len(errors) == 1 and "Traceback" not in res.stderr, res.stderr[-3000:]
    assert message in errors[0]
    queued = subprocess.run(["squeue", "-h", "-o", "%o"], capture_output=True, text=True).stdout
    assert str(tmp_path) not in queued


def test_a_pending_sweep_says_why_it_waits(tmp_path, cache_dir):
    """A job the scheduler holds (here: not before an hour from now) is named with the scheduler's
    reason while the sweep waits, after `FCN_ABLATION_PENDING_NOTE_S` (5 min by default)."""
    import time

    from helpers import start

    args = slurm_args(tmp_path, cache_dir, "experiment=baseline", "report.bench=false",
                      "+hydra.launcher.additional_parameters={begin:now+3600}")  # fmt: skip
    proc = start(*args, cwd=tmp_path, env_extra={"FCN_ABLATION_PENDING_NOTE_S": "3", "FCN_ABLATION_POLL_S": "1"})
    try:
        deadline, seen = time.monotonic() + 120, ""
        while time.monotonic() < deadline and "waiting: job" not in seen:
            line = proc.stdout.readline()
            assert line or proc.poll() is None, proc.communicate()[1][-3000:]
            seen += line
        assert "has been pending" in seen and "the scheduler's reason: BeginTime" in seen, seen[-2000:]
    finally:
        proc.kill()
        proc.communicate()
        for line in subprocess.run(["squeue", "-h", "-o", "%i|%o"], capture_output=True, text=True).stdout.splitlines():
            job_id, _, command = line.partition("|")
            if str(tmp_path) in command:
                subprocess.run(["scancel", job_id.split("_")[0]], check=False)


def test_a_sweep_of_a_variant_gets_its_baseline_as_a_cluster_job(tmp_path, cache_dir):
    """Issue 37 on SLURM: the sweeper adds the baseline before the launcher submits, so it is a job
    of the sweep's array, and the report measures the variant against it."""
    res = cli(*slurm_args(tmp_path, cache_dir, "experiment=e", "report.bench=false"), cwd=tmp_path, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "the sweep has no baseline for its table: 1 baseline job(s) first" in res.stdout
    assert [p.name.split("-")[0] for p in store_files(tmp_path / "results")] == ["baseline", "e"]
    assert "No baseline" not in next((tmp_path / "results" / "synthetic").glob("*/report.md")).read_text()
