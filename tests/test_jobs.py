"""Sweeps that scale out and survive faults: parallel launchers, the baseline trained once,
skip-if-done, resume after SIGKILL, SIGTERM that looks like one, a store many writers share."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from fcn_ablation.store import filing
from fcn_ablation.store.record import Record

from helpers import cli, run_job, start, tiny_overrides


def wait_for(pattern: str, root: Path, proc: subprocess.Popen, timeout: float = 300) -> Path:
    t0 = time.time()
    while time.time() - t0 < timeout:
        found = sorted(root.glob(pattern))
        if found:
            return found[0]
        if proc.poll() is not None:
            raise AssertionError(
                f"process ended ({proc.returncode}) before {pattern} appeared: {proc.stderr.read()[-3000:]}"
            )
        time.sleep(0.02)
    raise AssertionError(f"{pattern} did not appear in {timeout} s")


def store_records(results: Path) -> list[Record]:
    return [filing.read_record(p) for p in sorted((results / "store").glob("*/*/*.json"))]


def table(results: Path) -> pd.DataFrame:
    (csv,) = (results / "synthetic").glob("*/results.csv")
    return pd.read_csv(csv)


@pytest.mark.slow
def test_a_parallel_launcher_trains_the_baseline_once_and_reports_every_row(tmp_path, cache_dir):
    """Two variants from the trained baseline, the baseline listed last, under the cluster's
    launcher (submitit, here its local executor: one process per job): the first variant to need
    the baseline trains it, the other waits, the baseline job skips. (joblib's: the resume below.)"""
    results = tmp_path / "results"
    args = ["-m", *tiny_overrides(tmp_path, cache_dir), "launcher=submitit_local", "hydra.launcher.cpus_per_task=1",
            "init=baseline", "trainer.max_epochs=2", "experiment=e,f,baseline", "report.bench=false"]  # fmt: skip
    res = cli(*args, cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    recs = store_records(results)
    assert sorted(r.experiment for r in recs) == ["baseline", "e", "f"]  # one baseline, not one per variant
    base = next(r for r in recs if r.experiment == "baseline")
    for r in recs:
        if r.experiment != "baseline":
            assert r.init["source"] == "baseline" and r.init["origin"].endswith("model.pt")
            assert Path(r.init["origin"]).parent == filing.resolve(base.output_dir, results)
        assert not Path(r.output_dir).is_absolute()  # a copied results folder still resolves it
    (sweep,) = (results / "multiruns").iterdir()
    jobs = {p.parent.name: json.loads(p.read_text()) for p in sweep.glob("*/job.json")}
    assert sorted(jobs) == ["0_e_seed0", "1_f_seed0", "2_baseline_seed0"]
    assert all((results / j["record"]).is_file() for j in jobs.values())
    df = table(results)
    assert df.experiment.tolist() == ["baseline", "e", "f"] and df.n.tolist() == [1, 1, 1]

    # Again: every job is done, so none is started (no process, no job folder); each is listed, the report stays.
    again = cli(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    skipped = [line for line in again.stdout.splitlines() if line.startswith("skipped ")]
    assert [line.split("-")[0] for line in skipped] == ["skipped e", "skipped f", "skipped baseline"], again.stdout
    assert "3 of 3 jobs are done already; 0 started" in again.stdout and "report:" in again.stdout
    (second,) = [p for p in (results / "multiruns").iterdir() if p != sweep]
    assert sorted(p.name for p in second.iterdir()) == [
        "multirun.yaml",
        "skipped_jobs.json",
    ]  # no job folder, no .submitit
    assert len(store_records(results)) == 3


@pytest.mark.slow
def test_a_killed_sweep_resumes_where_it_stopped_and_its_copied_results_serve_their_baseline(tmp_path, cache_dir):
    results = tmp_path / "results"
    args = ["-m", *tiny_overrides(tmp_path, cache_dir), "trainer.max_epochs=4", "experiment=baseline,e"]
    proc = start(*args, cwd=tmp_path)
    wait_for("checkpoints/synthetic/*/e-seed0-*/last.ckpt", results, proc)  # e has finished an epoch
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert [r.experiment for r in store_records(results)] == ["baseline"]

    # The same command resumes it, here under joblib's launcher (a GPU box's: jobs side by side).
    res = cli(*args, "launcher=joblib", "hydra.launcher.n_jobs=2", cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "skipped baseline-seed0" in res.stdout  # the first job is not redone: not even started
    resumed_sweep = max((results / "multiruns").iterdir())
    assert sorted(p.name for p in resumed_sweep.iterdir() if p.is_dir()) == ["0_e_seed0"]
    recs = {r.experiment: r for r in store_records(results)}
    assert sorted(recs) == ["baseline", "e"]
    steps_per_epoch = recs["baseline"].train_steps // 4
    assert steps_per_epoch <= recs["e"].resumed_from["step"] < recs["e"].train_steps  # continued, not restarted
    assert recs["e"].train_steps == recs["baseline"].train_steps  # and trained to the full budget
    assert recs["baseline"].resumed_from is None
    assert table(results).n.tolist() == [1, 1]
    assert not list((results / "checkpoints").rglob("*.ckpt"))  # done jobs leave no checkpoint behind

    # The results folder moved to another machine: its baseline is done there, and variants start from it.
    moved = tmp_path / "elsewhere"
    shutil.copytree(results, moved / "results")
    shutil.rmtree(results)
    args = ["-m", *tiny_overrides(moved, cache_dir), "trainer.max_epochs=4", "init=baseline", "experiment=baseline,g"]
    res = cli(*args, cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    skipped = [line for line in res.stdout.splitlines() if line.startswith("skipped ")]
    assert len(skipped) == 1 and skipped[0].startswith("skipped baseline-seed0-")  # the copied baseline counts as done
    recs = {r.experiment: r for r in store_records(moved / "results")}
    assert Path(recs["g"].init["origin"]).is_relative_to(moved)  # found through the record's relative path
    forced = run_job(tmp_path / "forced", [*args[1:-1], "experiment=g", "rerun=true"])  # rerun=true: trained again
    assert forced.resumed_from is None and forced.path != recs["g"].path
    assert sorted(r.experiment for r in store_records(moved / "results")) == ["baseline", "e", "g", "g"]
    assert table(moved / "results").n.tolist() == [1, 1, 1]  # the newest record of each row and seed


@pytest.mark.slow
def test_sigterm_exits_143_in_one_line_and_the_rerun_resumes(tmp_path, cache_dir):
    results = tmp_path / "results"
    args = [*tiny_overrides(tmp_path, cache_dir), "trainer.max_epochs=30", "experiment=g"]
    proc = start(*args, cwd=tmp_path)
    wait_for("checkpoints/synthetic/*/g-seed0-*/last.ckpt", results, proc)
    os.kill(proc.pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 143, err[-3000:]
    lines = [line for line in err.splitlines() if line.startswith("terminated:")]
    assert len(lines) == 1 and "at step" in lines[0] and "rerun the same command to resume" in lines[0]
    assert "Traceback" not in err
    assert store_records(results) == []  # no record of a job that did not finish

    rec = run_job(tmp_path / "rerun", args)  # the same job again (in this process): it resumes
    assert rec.resumed_from["step"] > 0 and [r.experiment for r in store_records(results)] == ["g"]


def _write_many(results: str, tag: int, n: int) -> None:
    for i in range(n):
        rec = {
            "experiment": "a",
            "dataset": "synthetic",
            "settings_key": "k",
            "created": filing.timestamp(),
            "writer": tag,
            "i": i,
        }
        filing.file_record(Record.from_json(rec), results, {"names": __import__("numpy").array([f"x{i}"])})


def test_many_writers_never_lose_or_corrupt_a_record(tmp_path):
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_write_many, args=(str(tmp_path), tag, 40)) for tag in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    store = tmp_path / "store" / "synthetic" / "k"
    recs = [filing.read_record(p) for p in sorted(store.glob("*.json"))]
    assert sorted((r.extra["writer"], r.extra["i"]) for r in recs) == [(t, i) for t in range(3) for i in range(40)]
    assert all(filing.read_arrays(Path(r.path)) is not None for r in recs)
    assert not [p for p in store.iterdir() if p.name.endswith(".tmp")]


def test_under_slurm_lightning_leaves_requeueing_to_submitit(monkeypatch):
    from fcn_ablation.training.signals import cluster_plugins

    monkeypatch.delenv("SLURM_NTASKS", raising=False)
    (env,) = cluster_plugins()  # named, so that Lightning does not look for SLURM (and warn about srun)
    assert type(env).__name__ == "LightningEnvironment"
    monkeypatch.setenv("SLURM_NTASKS", "1")
    monkeypatch.setenv("SLURM_JOB_NAME", "fcn")
    (env,) = cluster_plugins()
    assert type(env).__name__ == "SLURMEnvironment" and env.auto_requeue is False


try:
    from hydra_plugins.hydra_joblib_launcher.joblib_launcher import JoblibLauncher

    class SiteParallelLauncher(JoblibLauncher):
        """A cluster's own launcher built on the joblib plugin: its jobs share the cores as joblib's do."""

except ImportError:  # the plugin is a dependency; without it the case below fails, as it should
    pass


def test_each_job_of_a_parallel_launcher_takes_its_share_of_the_cores(monkeypatch):
    from fcn_ablation.training import cpu_budget as cpu_budget_module

    monkeypatch.setattr(cpu_budget_module, "_cores", lambda: 8)
    monkeypatch.setattr(cpu_budget_module, "idle_cores", lambda: 8.0)  # a quiet machine (the load rule: below)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)

    class Hydra:
        def __init__(self, launcher):
            self.launcher = launcher

    def under(launcher):
        monkeypatch.setattr("hydra.core.hydra_config.HydraConfig.get", lambda: Hydra(launcher))
        return cpu_budget_module.cpu_budget()[0]

    assert under({"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", "n_jobs": 2}) == 4
    assert under({"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", "n_jobs": -1}) == 1
    assert (
        under({"_target_": "hydra_plugins.hydra_submitit_launcher.submitit_launcher.LocalLauncher", "cpus_per_task": 3})
        == 3
    )
    monkeypatch.delenv("SLURM_CPUS_PER_TASK", raising=False)
    assert under({"_target_": f"{__name__}.SiteParallelLauncher", "n_jobs": 4}) == 2  # told by class, not by name
    assert under({"_target_": "no.such.joblib.Launcher", "n_jobs": 4}) == 8
    assert under({"_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"}) == 8
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # the user's cap (two sweeps side by side): never exceeded
    assert cpu_budget_module.cpu_budget() == (2, "OMP_NUM_THREADS=2")
    assert under({"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", "n_jobs": 8}) == 1


def test_a_job_started_beside_other_work_takes_the_free_cores_only(monkeypatch):
    """A thread per core beside a busy process waits on the busy core at every parallel region
    (the default run took 3.8x its quiet time beside one busy process on 2 cores): the budget of
    "every core" is what is free at the start; a launcher's share and the user's cap stand."""
    from fcn_ablation.training import cpu_budget as cpu_budget_module

    monkeypatch.setattr(cpu_budget_module, "_cores", lambda: 4)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("SLURM_CPUS_PER_TASK", raising=False)
    monkeypatch.setattr("hydra.core.hydra_config.HydraConfig.get", lambda: (_ for _ in ()).throw(ValueError()))
    for idle, budget in ((4.0, 4), (3.1, 3), (2.8, 3), (1.0, 1), (0.0, 1), (None, 4)):
        monkeypatch.setattr(cpu_budget_module, "idle_cores", lambda idle=idle: idle)
        assert cpu_budget_module.cpu_budget()[0] == budget, idle
    monkeypatch.setattr(cpu_budget_module, "idle_cores", lambda: 1.0)
    assert cpu_budget_module.cpu_budget() == (1, "3 of 4 cores busy with other work")
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "4")  # an allocation is the job's own: no load rule
    assert cpu_budget_module.cpu_budget() == (4, "SLURM_CPUS_PER_TASK")


def test_idle_cores_reads_this_machine():
    from fcn_ablation.machine import idle_cores, usable_cores

    idle = idle_cores(0.05)
    assert idle is None or 0.0 <= idle <= usable_cores() + 1e-9


def test_one_thread_means_no_default_loader_workers_but_a_number_set_is_kept(monkeypatch):
    import torch

    from fcn_ablation.training import cpu_budget as cpu_budget_module

    threads = torch.get_num_threads()
    monkeypatch.setattr(cpu_budget_module, "_cores", lambda: 4)
    monkeypatch.setattr("fcn_ablation.data.datamodule.default_workers", lambda: 4)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    try:
        for asked, kept in ((None, 0), (2, 2), (9, 4)):
            assert cpu_budget_module.apply_cpu_budget(asked) == (1, kept), asked
            assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)


def test_a_torn_checkpoint_is_moved_aside_and_training_starts_over(tmp_path, caplog):
    """A `last.ckpt` cut short (the machine died while it was written elsewhere, or a copy broke)
    is kept aside under another name, and the job trains from the start instead of crashing."""
    import torch

    from fcn_ablation.training.supervision import fit

    class Trainer:
        received_sigterm = False

        def fit(self, module, datamodule, ckpt_path, weights_only=None):
            self.ckpt_path, self.weights_only = ckpt_path, weights_only

    torch.save({"global_step": 7, "state_dict": {"w": torch.zeros(100, 100)}}, tmp_path / "last.ckpt")
    trainer = Trainer()
    assert fit(trainer, None, None, tmp_path) == {"checkpoint": str(tmp_path / "last.ckpt"), "step": 7}
    assert trainer.ckpt_path == str(tmp_path / "last.ckpt") and trainer.weights_only is True  # Lightning's load too
    whole = (tmp_path / "last.ckpt").read_bytes()
    (tmp_path / "last.ckpt").write_bytes(whole[: len(whole) // 2])
    with caplog.at_level("WARNING"):
        assert fit(trainer, None, None, tmp_path) is None
    assert trainer.ckpt_path is None and not (tmp_path / "last.ckpt").exists()
    assert (tmp_path / "unreadable-last.ckpt").stat().st_size == len(whole) // 2
    assert "unreadable checkpoint" in caplog.text and "training from the start" in caplog.text


class _Planted:
    """What a crafted checkpoint would run on unpickling: it writes a file (`touched`)."""

    def __init__(self, touched: str) -> None:
        self.touched = touched

    def __reduce__(self):
        return (Path.touch, (Path(self.touched),))


def test_a_planted_pickle_in_a_checkpoint_runs_nothing_and_is_set_aside(tmp_path, caplog):
    """Issue 33, point 1 (the resume path): a `last.ckpt` that holds a crafted object is never
    unpickled beyond tensors and plain values; it is set aside as unreadable and the job trains afresh."""
    import torch

    from fcn_ablation.training.supervision import fit

    class Trainer:
        received_sigterm = False

        def fit(self, module, datamodule, ckpt_path, weights_only=None):
            self.ckpt_path = ckpt_path

    touched = tmp_path / "ran"
    torch.save({"global_step": 3, "payload": _Planted(str(touched))}, tmp_path / "last.ckpt")
    trainer = Trainer()
    with caplog.at_level("WARNING"):
        assert fit(trainer, None, None, tmp_path) is None
    assert not touched.exists() and trainer.ckpt_path is None
    assert (tmp_path / "unreadable-last.ckpt").is_file() and "unreadable checkpoint" in caplog.text


@pytest.mark.parametrize("reader", ["model.pt", "init=checkpoint", "init=imagenet", "hub cache"])
def test_no_reader_of_weights_runs_a_planted_pickle(tmp_path, monkeypatch, reader):
    """Issue 33, point 1, every other reader: a stored `model.pt` (evaluate, init=baseline), a
    checkpoint to start from, VGG16 weights (a file, or torch hub's cache): a crafted object runs
    nothing and the file is refused in one line naming it."""
    import torch

    from fcn_ablation.errors import DataError
    from fcn_ablation.models.vgg16 import load_vgg16
    from fcn_ablation.training.initialise import _read_checkpoint
    from fcn_ablation.training.testing import load_trained

    touched = tmp_path / "ran"
    planted = tmp_path / "results" / "runs" / "job" / "model.pt"
    planted.parent.mkdir(parents=True)
    torch.save({"state_dict": {}, "config": {"dataset": {}}, "payload": _Planted(str(touched))}, planted)
    if reader == "model.pt":
        from fcn_ablation.models.widths import build_widths

        record = Record(experiment="baseline", created="x", output_dir="runs/job", widths=build_widths({}, 1 / 64))
        read = lambda: load_trained(record, tmp_path / "results")  # noqa: E731
    elif reader == "init=checkpoint":
        read = lambda: _read_checkpoint(planted)  # noqa: E731
    elif reader == "init=imagenet":
        read = lambda: load_vgg16(str(planted), "https://example.invalid/vgg16.pth")  # noqa: E731
    else:  # what torch hub finds in its cache under the URL's file name
        monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
        (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
        shutil.copy(planted, tmp_path / "hub" / "checkpoints" / "vgg16-397923af.pth")
        read = lambda: load_vgg16(None, "https://example.invalid/vgg16-397923af.pth")  # noqa: E731
    with pytest.raises(DataError) as err:
        read()
    assert not touched.exists()
    assert "\n" not in str(err.value) and ("model.pt" in str(err.value) or "vgg16" in str(err.value))


def test_a_job_entry_is_written_in_the_form_jobs_always_wrote_and_reads_back(tmp_path):
    """Issue 34, point 2: `job.json` and the entries of `skipped_jobs.json` have one type
    (`store.job_entry.JobEntry`), whose JSON is the object jobs wrote before it, key for key."""
    from fcn_ablation.store.job_entry import JobEntry, add_skipped, read_job_file, skipped_entries, write_job_file

    done = {"job": "a-seed0-1a2b3c4d", "dataset": "synthetic", "settings_key": "k", "record": "store/synthetic/k/a.json",
            "skipped": False, "test": True}  # fmt: skip
    diverged = {**done, "record": None, "diverged": "training diverged at step 2"}
    skipped = {**done, "skipped": True, "overrides": ["experiment=a"]}
    for data in (done, diverged, skipped):
        entry = JobEntry.from_json(data)
        assert entry.to_json() == data and list(entry.to_json()) == list(data)
    assert JobEntry.from_json(done).joins_a_table and not JobEntry.from_json(diverged).joins_a_table
    assert JobEntry.from_json({"record": "x.json"}).record == "x.json"  # a file cut by hand still names its record
    tmp = tmp_path
    write_job_file(tmp, JobEntry.from_json(diverged))
    assert json.loads((tmp / "job.json").read_text()) == diverged and read_job_file(tmp / "job.json").diverged
    add_skipped(tmp, [JobEntry.from_json(skipped)])
    add_skipped(tmp, [JobEntry.from_json(skipped)])
    assert [e.to_json() for e in skipped_entries(tmp)] == [skipped, skipped]


def test_a_sweep_of_variants_gets_its_baseline_first_once_per_seed():
    """Issue 37: `-m experiment=a,b seed=0,1` gets the baseline's two jobs first, with the same
    overrides; a sweep that holds them, or `sweep_baseline=false`, gets none."""
    from hydra_plugins.fcn_ablation_launchers.sweeper import with_baselines

    jobs = [[f"experiment={e}", f"seed={s}", "trainer.max_epochs=1"] for e in ("a", "b") for s in (0, 1)]
    added, all_jobs = with_baselines(jobs)
    assert added == [["seed=0", "trainer.max_epochs=1", "experiment=baseline"],
                     ["seed=1", "trainer.max_epochs=1", "experiment=baseline"]]  # fmt: skip
    assert all_jobs == added + jobs
    assert with_baselines([["experiment=baseline", "seed=0"], ["experiment=a", "seed=0"]])[0] == []
    # an experiment of one's own, changed by overrides: the baseline takes none of them
    assert with_baselines([["experiment=a", "experiment.factors.fc6=0.25", "seed=2"]])[0] == [
        ["seed=2", "experiment=baseline"]
    ]


@pytest.mark.slow
def test_the_projects_sweep_of_variants_reports_every_change_against_its_baseline(tmp_path, cache_dir):
    """The bar of issue 37: `python -m fcn_ablation -m experiment=a,b trainer.max_epochs=1` into an empty
    results folder gives a report whose "max F vs base" column is filled for a and b."""
    res = cli("-m", "experiment=a,b", *tiny_overrides(tmp_path, cache_dir), cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "the sweep has no baseline for its table: 1 baseline job(s) first" in res.stdout
    (report,) = (tmp_path / "results" / "synthetic").glob("*/report.md")
    rows: dict[str, str] = {}  # the first table's rows: the headline table
    for line in report.read_text().splitlines():
        if line.startswith("| "):
            rows.setdefault(line.split("|")[1].strip(), line)
    assert "No baseline" not in report.read_text()
    for e in ("a", "b"):
        assert re.search(r"\| [+-]0\.\d{4} ", rows[e]), rows[e]  # max F vs base: a change (one seed: no interval)
    off = cli("-m", "experiment=a", "sweep_baseline=false", *tiny_overrides(tmp_path / "off", cache_dir), cwd=tmp_path)
    assert off.returncode == 0 and "no baseline for its table" not in off.stdout


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["joblib", "submitit_local"])
def test_the_parallel_launchers_run_the_added_baseline_too(tmp_path, cache_dir, launcher):
    """Issue 37, point 2: the baseline the sweeper adds is a job of the sweep under every launcher,
    and the table's report measures the variant against it."""
    res = cli("-m", "experiment=a", f"launcher={launcher}", *tiny_overrides(tmp_path, cache_dir), cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "the sweep has no baseline for its table: 1 baseline job(s) first" in res.stdout
    (report,) = (tmp_path / "results" / "synthetic").glob("*/results.csv")
    df = __import__("pandas").read_csv(report)
    assert df.experiment.tolist() == ["baseline", "a"] and df.max_f_delta.notna().tolist() == [False, True]
