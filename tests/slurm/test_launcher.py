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


def _stand_in(tmp_path, monkeypatch, name: str, script: str) -> None:
    """A stand-in SLURM client `name` on PATH, running the shell `script`."""
    fake = tmp_path / name
    fake.write_text("#!/bin/sh\n" + script + "\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")


SINFO = "cat <<'END'\ndebug*|2|23000|(null)\ndebug*|2|23000|(null)\ngpu|16|128000|gpu:a100:4(S:0-1)\nEND"


@pytest.mark.parametrize(
    "params, message",
    [
        (
            {"cpus_per_task": 8},
            "hydra.launcher.cpus_per_task=8: no node of partition debug has more than 2 CPUs "
            "(sinfo), so the jobs would wait for ever; set hydra.launcher.cpus_per_task=2 or less",
        ),
        (
            {"cpus_per_task": 1, "gpus_per_node": 1},
            "hydra.launcher.gpus_per_node=1 (asked for by trainer=gpu): "
            "partition debug has no GPUs (sinfo GRES: (null))",
        ),
        ({"partition": "gpu", "cpus_per_task": 8, "gpus_per_node": 8}, "partition gpu has at most 4 GPUs per node"),
        (
            {"cpus_per_task": 1, "mem_gb": 64},
            "hydra.launcher.mem_gb=64: no node of partition debug has more than 22 GB",
        ),
        (
            {"partition": "big"},
            "hydra.launcher.partition=big: no such partition on this cluster (sinfo lists: debug, gpu)",
        ),
        ({"cpus_per_task": 2}, None),
        ({"partition": "gpu", "cpus_per_task": 16, "gpus_per_node": 4, "mem_gb": 100}, None),
    ],
)
def test_a_request_no_node_of_the_partition_can_meet_is_one_line_at_submission(tmp_path, monkeypatch, params, message):
    """Issue 33, point 8: what `sinfo` says the partition offers against what the launcher asks
    for, before anything is submitted (on the real cluster: `test_cluster.py`)."""
    from fcn_ablation.errors import ConfigError
    from hydra_plugins.fcn_ablation_launchers.cluster import check_request

    _stand_in(tmp_path, monkeypatch, "sinfo", SINFO)
    if message is None:
        check_request(params)
        return
    with pytest.raises(ConfigError) as err:
        check_request(params)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_nothing_is_checked_where_sinfo_cannot_answer(tmp_path, monkeypatch):
    from hydra_plugins.fcn_ablation_launchers.cluster import check_request

    _stand_in(
        tmp_path, monkeypatch, "sinfo", "echo 'slurm_load_partitions: Unable to contact slurm controller' >&2; exit 1"
    )
    check_request({"cpus_per_task": 64})


class _Job:
    """A submitted job as submitit hands it over, that never says it is done."""

    job_id = "41_0"

    def __init__(self, tmp_path):
        import types

        self.paths = types.SimpleNamespace(stderr=tmp_path / "41_0_log.err", result_pickle=tmp_path / "41_0_result.pkl")

    def done(self):  # submitit's watcher, with slurmdbd down, says this at every poll
        import logging

        logging.getLogger("submitit").warning(
            "Bypassing sacct error Command '['sacct', ...]' returned non-zero exit status 1."
        )
        return False


def test_the_wait_says_why_a_job_pends_and_ends_for_a_job_gone_while_sacct_is_silent(
    tmp_path, monkeypatch, capsys, caplog
):
    """Point 8: a job pending longer than `PENDING_NOTE_S` is named with the scheduler's reason; a
    job that left the queue without a result while `sacct` cannot be reached (slurmdbd down) ends
    the wait after `GONE_GRACE_S` as a failed job quoting its own closing line, with no
    "Bypassing sacct error" stream."""
    import logging

    from hydra_plugins.fcn_ablation_launchers import cluster, launcher

    states = iter([("PENDING", "Priority")] * 3 + [("RUNNING", "None")] + [("", "")] * 100)
    monkeypatch.setattr(cluster, "queue_state", lambda job_id: next(states))
    monkeypatch.setattr(cluster, "accounting_answers", lambda job_id: False)
    monkeypatch.setattr(launcher, "POLL_S", 0.01)
    monkeypatch.setattr(launcher, "PENDING_NOTE_S", 0.015)
    monkeypatch.setattr(launcher, "GONE_GRACE_S", 0.05)
    job = _Job(tmp_path)
    job.paths.stderr.write_text(
        "training...\nterminated: SIGTERM at step 7; saved /x/last.ckpt\nsrun: error: task 0: Exited\n"
    )
    failures = []
    with caplog.at_level(logging.WARNING):
        (ret,) = launcher._Guarded(job, failures).results()
    assert "Bypassing sacct error" not in caplog.text
    assert ret.return_value != ret.return_value  # NaN: the sweep goes on and the report holds the rest
    (failure,) = failures
    assert failure["state"] == "UNKNOWN (no accounting)" and failure["job_id"] == "41_0"
    assert "sacct could not be reached" in failure["error"]
    assert failure["error"].endswith("terminated: SIGTERM at step 7; saved /x/last.ckpt")  # the job's own line
    out = capsys.readouterr().out
    assert "waiting: job 41_0 has been pending" in out and "the scheduler's reason: Priority" in out


def test_a_failed_job_s_line_quotes_its_own_closing_line_not_srun_s(tmp_path):
    from hydra_plugins.fcn_ablation_launchers.launcher import _last_line

    log = tmp_path / "log.err"
    log.write_text(
        "x\nterminated: SIGTERM (scancel); saved the step 12 in last.ckpt\nsrun: error: task 0: Exited with exit code 143\n"
    )
    assert _last_line(log).startswith("terminated: SIGTERM (scancel)")
    log.write_text("x\nsrun: error: task 0: Killed\n")
    assert _last_line(log) == "srun: error: task 0: Killed"
