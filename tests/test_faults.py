"""Faults outside the data: a diverged training, bad paths, a poisoned store, a full disk, Ctrl-C,
shared permissions and Hydra's own errors. Each ends in one line, loses nothing, files nothing
wrong, and the rerun recovers (issue 22)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import stat
import sys
from pathlib import Path

import pytest
import torch
from test_jobs import store_records, wait_for

from fcn_ablation import files, results_layout
from fcn_ablation.errors import DiskFull, Diverged, Interrupted, UserError, disk_full, exit_on_user_error
from fcn_ablation.store import filing
from fcn_ablation.store.record import Record

from helpers import cli, run_job, start, tiny_overrides, wandb_run


def one_error_line(stderr: str, prefix: str = "error:") -> str:
    lines = [line for line in stderr.splitlines() if line.startswith(prefix)]
    assert len(lines) == 1, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    return lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, cache_dir):
    """One tiny finished job: its results folder (the job folder inside, as Hydra puts it) and its record."""
    tmp = tmp_path_factory.mktemp("trained")
    rec = run_job(tmp / "results" / "runs" / "job", tiny_overrides(tmp, cache_dir))
    return tmp, rec


# ----------------------------------------------------------------------------- divergence
def test_a_diverged_training_stops_in_one_line_and_files_nothing(tmp_path, cache_dir):
    args = tiny_overrides(tmp_path, cache_dir, "optimizer.lr=1e6", "trainer.max_epochs=2")
    with pytest.raises(Diverged) as err:
        run_job(tmp_path / "job", args)
    message = str(err.value)
    assert "\n" not in message and "diverged" in message and "at step" in message and "optimizer.lr" in message
    results = tmp_path / "results"
    assert store_records(results) == []  # no score of a diverged network, anywhere
    assert not (tmp_path / "job" / "model.pt").exists()
    assert not list((results / "checkpoints").rglob("last.ckpt"))  # nothing to resume: the same settings diverge
    job = json.loads((tmp_path / "job" / "job.json").read_text())
    assert job["record"] is None and job["diverged"] == message


@pytest.mark.slow
def test_a_sweep_goes_on_past_a_diverged_job_reports_the_rest_and_exits_non_zero(tmp_path, cache_dir):
    """A diverged job is one line at the end of the sweep, and (issue 33, point 4) its W&B run ends
    with it, as failed: the next job logs into a run of its own, whose config is its own."""
    args = [*tiny_overrides(tmp_path, cache_dir), "logger=wandb", "trainer.max_epochs=2"]
    res = cli("-m", *args, "optimizer.lr=1e6,1e-3", cwd=tmp_path)
    assert res.returncode == 2, res.stderr[-3000:]
    assert "Traceback" not in res.stderr
    said = [line for line in (res.stdout + res.stderr).splitlines() if "diverged" in line]
    assert len(said) == 1 and said[0].startswith("error: job 0_baseline_seed0 of the sweep diverged"), said
    assert "optimizer.lr" in said[0] and "the report holds the rest" in said[0]
    assert "report:" in res.stdout  # the healthy job's table
    recs = store_records(tmp_path / "results")
    assert [r.lr for r in recs] == [1e-3]
    (sweep,) = (tmp_path / "results" / "multiruns").iterdir()
    assert "diverged: " in (sweep / "0_baseline_seed0" / "train.log").read_text()  # the job's own log keeps it
    runs = {job: [wandb_run(d) for d in (sweep / job / "wandb").glob("offline-run-*")]
            for job in ("0_baseline_seed0", "1_baseline_seed0")}  # fmt: skip
    (bad,), (good,) = runs["0_baseline_seed0"], runs["1_baseline_seed0"]
    assert bad["config"]["optimizer"]["lr"] == 1e6 and bad["exit_code"] == 1
    assert bad["summary"]["ended"].startswith("Diverged: ") and not any(k.startswith("final/") for k in bad["summary"])
    assert good["config"]["optimizer"]["lr"] == 1e-3 and good["exit_code"] == 0
    assert good["summary"]["final/max_f"] == pytest.approx(recs[0].scores["max_f"])
    assert good["group"] == bad["group"] == sweep.name
    tested = [h["test/max_f"] for h in good["history"] if "test/max_f" in h]
    assert tested == [pytest.approx(recs[0].scores["max_f"])]  # its own test, logged into its own run
    assert not any(k.startswith(("test/", "final/")) for h in bad["history"] for k in h)


def test_a_job_ending_any_way_finishes_its_run_and_the_next_job_opens_its_own(monkeypatch):
    """The two guards of point 4, whatever the ending (an interrupt, an error): the job's run is
    finished as failed on its way out, and a run left open anyway is closed before the next starts."""
    import types

    from fcn_ablation.errors import Interrupted
    from fcn_ablation.training import loggers

    finished = []

    class Run:
        id, summary = "r1", {}

        def finish(self, exit_code=0):
            finished.append(exit_code)

    from pytorch_lightning.loggers import WandbLogger

    logger = WandbLogger.__new__(WandbLogger)
    logger._experiment = Run()
    for ending in (Interrupted("Ctrl-C at step 3"), RuntimeError("boom")):
        with pytest.raises(type(ending)), loggers.closed_on_failure(logger):
            raise ending
    assert finished == [1, 1] and Run.summary["ended"] == "RuntimeError: boom"
    stray = types.SimpleNamespace(run=Run())
    monkeypatch.setitem(sys.modules, "wandb", stray)
    loggers.close_open_run()
    assert finished == [1, 1, 1]


def test_non_finite_weights_at_the_end_are_a_divergence_too():
    from fcn_ablation.training.supervision import DivergenceGuard

    module = torch.nn.Linear(2, 2)
    with torch.no_grad():
        module.weight[0, 0] = float("nan")
    guard = DivergenceGuard(every=50, what="job", lr=0.1, precision="bf16-mixed")
    with pytest.raises(Diverged, match=r"1 weight tensors are not finite.*weight.*trainer.precision=bf16-mixed"):
        guard.check(type("T", (), {"global_step": 7})(), module, weights=True)


# ----------------------------------------------------------------------------- paths and Hydra
@pytest.mark.parametrize(
    "override, message",
    [
        ("paths.results_dir=", "paths.results_dir is empty"),
        ("paths.results_dir={file}/results", "paths.results_dir={file}/results: cannot create or write this folder"),
        (
            "experiment=doesnotexist",
            "Could not find 'experiment/doesnotexist'; available options in 'experiment': a, b",
        ),
        ("seed=abc", "seed=abc: Value 'abc' of type 'str' could not be converted to Integer"),
        ("hydra.searchpath=[file://{tmp}/mine] experiment=mine", "mine.yaml: line 3, column 1: YAML syntax error"),
        (
            "paths.results_dir={tmp}/my~results#1",
            "quote a value with spaces or any of ()[]{{}},:='\"#!&;| as Hydra reads "
            "it: \"paths.results_dir='{tmp}/my results#1'\"",
        ),
    ],
)
def test_bad_paths_and_hydra_errors_end_in_one_error_line(tmp_path, override, message):
    (tmp_path / "a_file").write_text("not a folder")
    (tmp_path / "mine" / "experiment").mkdir(parents=True)
    (tmp_path / "mine" / "experiment" / "mine.yaml").write_text("name: mine\nfactors: {conv1_1: [0.5\n")
    fill = {"file": tmp_path / "a_file", "tmp": tmp_path}
    args = [a.format(**fill).replace("~", " ") for a in override.split()]  # ~: a space inside one argument
    res = cli(*args, "logger=none", f"paths.cache_dir={tmp_path}/cache", cwd=tmp_path)
    assert res.returncode == 2, res.stderr[-3000:]
    line = one_error_line(res.stderr)
    assert message.format(**fill) in line
    assert not (tmp_path / "runs").exists() and not Path("/runs").exists()
    assert not list(tmp_path.rglob("model.pt"))


def test_an_unwritable_cache_stops_the_job_before_any_work(compose_cfg, tmp_path):
    from fcn_ablation.errors import ConfigError
    from fcn_ablation.training.job import run

    (tmp_path / "a_file").write_text("not a folder")
    cfg = compose_cfg(
        [f"paths.results_dir={tmp_path}/results", f"paths.cache_dir={tmp_path}/a_file/cache", "logger=none"]
    )
    with pytest.raises(ConfigError) as err:
        run(cfg, tmp_path / "job")
    assert str(err.value).startswith(f"paths.cache_dir={tmp_path}/a_file/cache: cannot create or write this folder")
    assert "FCN_ABLATION_CACHE" in str(err.value) and not (tmp_path / "results").exists()


def test_paths_are_checked_without_creating_anything(tmp_path):
    assert files.check_writable(tmp_path / "new" / "deeper", "paths.results_dir") == tmp_path / "new" / "deeper"
    assert sorted(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- the store
@pytest.mark.parametrize(
    "content, what",
    [
        (b"\xff\xfe\x00garbage", "UnicodeDecodeError"),
        (b"[1, 2]", "a JSON list"),
        (b"{}", "missing or mistyped"),
        (b'{"experiment": "baseline", "created": 5}', "missing or mistyped"),
    ],  # fmt: skip
)
def test_an_unreadable_record_is_one_line_naming_it(tmp_path, content, what):
    path = tmp_path / "baseline-x.json"
    path.write_bytes(content)
    with pytest.raises(UserError) as err:
        filing.read_record(path)
    assert str(path) in str(err.value) and what in str(err.value) and "\n" not in str(err.value)


def poison(store: Path, stem: str) -> dict[str, Path]:
    """Junk of every kind beside the good records: what a full disk, a crash or a stray tool leaves."""
    junk = {
        "bytes": store / f"baseline-{stem}-bytes.json",
        "list": store / f"baseline-{stem}-list.json",
        "empty": store / f"baseline-{stem}-empty.json",
    }
    junk["bytes"].write_bytes(os.urandom(64) + b"\xff")
    junk["list"].write_text("[1, 2]")
    junk["empty"].write_text("{}")
    return junk


@pytest.mark.slow
def test_a_poisoned_store_is_warned_about_and_every_reader_goes_on(trained, tmp_path, cache_dir, caplog):
    src, rec = trained
    results = tmp_path / "results"
    shutil.copytree(src / "results", results)
    store = results_layout.store_dir(results, rec.dataset, rec.settings_key)
    junk = poison(store, "zz")
    # A good record whose arrays were cut short: its table row keeps its scores, loses its paired tests.
    good = Path(next(p for p in store.glob("baseline-*.json") if p not in junk.values()))
    cut = store / "baseline-zz-cut.json"
    shutil.copy(good, cut)
    data = json.loads(cut.read_text())
    data["created"] = filing.timestamp()
    cut.write_text(json.dumps(data))
    cut.with_suffix(".npz").write_bytes(good.with_suffix(".npz").read_bytes()[:100])

    # The done-job check: the job is found done (skipped), the junk named in warnings.
    args = tiny_overrides(tmp_path, cache_dir)
    again = run_job(tmp_path / "again", args)
    assert str(again.path) in (str(good), str(cut))
    assert any(str(junk["bytes"]) in m for m in caplog.messages)
    # The baseline lookup of an init=baseline job.
    found = filing.reference_baseline(store, results, "scratch", 0)
    assert found is not None and found.name == "model.pt"
    # The report, as a command: one warning per bad file, a table from the rest, exit 0.
    res = cli(str(store), module="fcn_ablation.commands.report", cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "Traceback" not in res.stderr
    for path in [*junk.values(), cut.with_suffix(".npz")]:
        assert res.stderr.count(f"{path}:") == 1, res.stderr  # once per file, however often it is read (point 7)
    with pytest.raises(UserError, match="not a readable per-image file"):
        filing.read_arrays(cut)


def test_a_crash_between_the_arrays_and_the_record_is_cleaned_up_by_the_next_filing(tmp_path, monkeypatch):
    import numpy as np

    rec = {"experiment": "a", "job": "a-seed0-0123abcd", "dataset": "synthetic", "settings_key": "k",
           "created": filing.timestamp()}  # fmt: skip
    arrays = {"names": np.array(["x"])}
    real = filing.write_json

    def full_disk(path, data):
        if Path(path).parent.name == "k":
            raise DiskFull(f"no space left on device while writing {path}")
        return real(path, data)

    monkeypatch.setattr(filing, "write_json", full_disk)
    with pytest.raises(DiskFull):
        filing.file_record(Record.from_json(rec), tmp_path, arrays)
    store = results_layout.store_dir(tmp_path, "synthetic", "k")
    (stray,) = store.glob("*.npz")  # the crash's leftover: no reader sees it (no .json)
    assert list(store.glob("*.json")) == []
    monkeypatch.setattr(filing, "write_json", real)
    path = filing.file_record(Record.from_json({**rec, "created": filing.timestamp()}), tmp_path, arrays)
    assert not stray.exists() and sorted(p.name for p in store.iterdir()) == sorted(
        [path.name, path.with_suffix(".npz").name]
    )


# ----------------------------------------------------------------------------- full disk
def test_a_full_disk_is_one_line_and_leaves_no_half_file(tmp_path):
    target = tmp_path / "model.pt"

    def fill(f):
        f.write(b"x" * 100)
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(DiskFull) as err:
        files.atomic_write(target, fill)
    assert str(err.value).startswith(f"no space left on device while writing {target}; free space and rerun")
    assert sorted(tmp_path.iterdir()) == []  # neither the file nor its temporary


def test_a_full_disk_anywhere_else_is_one_line_too(capsys):
    with pytest.raises(SystemExit) as exit_:
        with exit_on_user_error():
            raise OSError(errno.ENOSPC, "No space left on device", "/results/runs/x/.hydra/config.yaml")
    assert exit_.value.code == 2
    line = capsys.readouterr().err.strip()
    assert line.startswith("error: no space left on device while writing /results/runs/x/.hydra/config.yaml")


def test_the_rerun_after_a_full_disk_resumes_and_files_one_record(tmp_path, cache_dir, monkeypatch):
    from fcn_ablation.training import job as run_module

    args = tiny_overrides(tmp_path, cache_dir, "trainer.max_epochs=2")

    def no_space(path, model):
        raise disk_full(path, OSError(errno.ENOSPC, "No space left on device"))

    monkeypatch.setattr(run_module, "save_model", no_space)
    with pytest.raises(DiskFull):
        run_job(tmp_path / "job1", args)
    assert not (tmp_path / "job1" / "model.pt").exists() and store_records(tmp_path / "results") == []
    monkeypatch.undo()
    rec = run_job(tmp_path / "job2", args)
    assert rec.resumed_from["step"] == rec.train_steps  # the trained weights were kept to resume from
    assert len(store_records(tmp_path / "results")) == 1


# ----------------------------------------------------------------------------- permissions
def test_every_written_file_has_the_umask_s_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        path = filing.write_json(tmp_path / "r.json", {"a": 1})
        folder_path = tmp_path / "folder"
        with files.atomic_path(folder_path, folder=True) as tmp:
            (tmp / "x").write_text("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert stat.S_IMODE(folder_path.stat().st_mode) == 0o755


# ----------------------------------------------------------------------------- Ctrl-C
def _interrupt_at(monkeypatch, step: int, signum: int = signal.SIGINT) -> None:
    """Ctrl-C (SIGINT to this process; or `signum`) during training step `step`."""
    from fcn_ablation.training import module as module_

    original = module_.SaliencyModule.training_step

    def training_step(self, batch, batch_idx):
        out = original(self, batch, batch_idx)
        if self.trainer.global_step == step:
            os.kill(os.getpid(), signum)
        return out

    monkeypatch.setattr(module_.SaliencyModule, "training_step", training_step)


def test_ctrl_c_saves_at_the_step_and_the_rerun_ends_with_the_same_weights(tmp_path, cache_dir, monkeypatch):
    """Interrupted mid-epoch (with dropout and flips, the random parts, and persistent loader
    workers), then resumed: the final weights equal an uninterrupted run's bit for bit."""
    workers = 2

    def args(name):
        return tiny_overrides(tmp_path / name, cache_dir, "trainer.max_epochs=3", "model.dropout=0.5",
                              f"dataset.num_workers={workers}")  # fmt: skip

    plain = run_job(tmp_path / "plain" / "job", args("plain"))
    _interrupt_at(monkeypatch, 5)
    with pytest.raises(Interrupted) as err:
        run_job(tmp_path / "cut" / "job1", args("cut"))
    assert "Ctrl-C at step 6" in str(err.value) and "rerun the same command" in str(err.value)
    monkeypatch.undo()
    resumed = run_job(tmp_path / "cut" / "job2", args("cut"))
    assert resumed.resumed_from["step"] == 6 and resumed.train_steps == plain.train_steps == 12
    a = torch.load(tmp_path / "plain" / "job" / "model.pt", weights_only=False)["state_dict"]
    b = torch.load(tmp_path / "cut" / "job2" / "model.pt", weights_only=False)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed.scores["max_f"] == plain.scores["max_f"]


def test_submitit_s_requeue_signal_saves_the_step_first_and_the_requeued_run_ends_with_the_same_weights(
    tmp_path, cache_dir, monkeypatch
):
    """SIGUSR2, submitit's time-out and pre-emption signal, mid-epoch: the job saves the checkpoint
    of the step it was in, and only then runs submitit's handler (here a stand-in that reads the
    checkpoint and exits as submitit's does after requeueing); the requeued run resumes at that
    step and ends with the weights of an uninterrupted run, bit for bit."""

    def args(name):
        return tiny_overrides(tmp_path / name, cache_dir, "trainer.max_epochs=3", "model.dropout=0.5")

    seen = []

    def submitit_handler(signum, frame):  # what submitit does: checkpoint the call, requeue, exit
        ckpt = next((tmp_path / "cut" / "results" / "checkpoints").glob("*/*/*/last.ckpt"))
        seen.append((signum, torch.load(ckpt, map_location="cpu", weights_only=False)["global_step"]))
        sys.exit(-1)

    plain = run_job(tmp_path / "plain" / "job", args("plain"))
    before = signal.signal(signal.SIGUSR2, submitit_handler)
    try:
        _interrupt_at(monkeypatch, 4, signal.SIGUSR2)
        with pytest.raises(SystemExit):
            run_job(tmp_path / "cut" / "job1", args("cut"))
        monkeypatch.undo()
        # 4 steps an epoch: step 5 is mid-epoch, past the checkpoint of the epoch's end (step 4)
        assert seen == [(signal.SIGUSR2, 5)]
        resumed = run_job(tmp_path / "cut" / "job2", args("cut"))
    finally:
        signal.signal(signal.SIGUSR2, before)
    assert resumed.resumed_from["step"] == 5 and resumed.train_steps == plain.train_steps == 12
    a = torch.load(tmp_path / "plain" / "job" / "model.pt", weights_only=False)["state_dict"]
    b = torch.load(tmp_path / "cut" / "job2" / "model.pt", weights_only=False)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert len(seen) == 1  # the requeued run trained to its end without another signal


@pytest.mark.slow
def test_ctrl_c_on_the_command_line_is_one_line_and_status_130(tmp_path, cache_dir):
    results = tmp_path / "results"
    args = [*tiny_overrides(tmp_path, cache_dir), "trainer.max_epochs=30"]
    proc = start(*args, cwd=tmp_path)
    wait_for("checkpoints/synthetic/*/baseline-seed0-*/last.ckpt", results, proc)
    os.kill(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err[-3000:]
    line = one_error_line(err, "interrupted:")
    assert "Ctrl-C at step" in line and "rerun the same command" in line
    assert store_records(results) == []


def test_ctrl_c_outside_training_is_one_line_and_status_130(capsys):
    with pytest.raises(SystemExit) as exit_:
        with exit_on_user_error():
            raise KeyboardInterrupt
    assert exit_.value.code == 130
    assert capsys.readouterr().err.strip().startswith("interrupted: Ctrl-C; ")


def test_a_reader_that_goes_away_ends_the_command_without_a_traceback(capsys):
    with pytest.raises(SystemExit) as exit_:
        with exit_on_user_error():
            raise BrokenPipeError(32, "Broken pipe")  # `fcn-ablation --help | head -1`
    assert exit_.value.code == 1 and capsys.readouterr().err == ""


# ----------------------------------------------------------------------------- the epoch plan
def test_the_epoch_plan_depends_on_the_seed_and_epoch_alone_and_resumes_mid_epoch():
    from fcn_ablation.data.sampling import EpochPlan, ResumableLoader

    class Keys(torch.utils.data.Dataset):
        def __len__(self):
            return 10

        def __getitem__(self, key):
            return key

    dataset = Keys()
    plan = EpochPlan(10, seed=3, flip=True)
    assert plan.plan(4) == EpochPlan(10, seed=3, flip=True).plan(4) != plan.plan(5)
    assert sorted(i for i, _ in plan.plan(4)) == list(range(10))
    loader = ResumableLoader(dataset, plan, batch_size=3, collate_fn=lambda b: [i for i, _ in b])
    plan.set_epoch(4)
    full = list(loader)
    it = iter(loader)
    first = [next(it), next(it)]
    state = loader.position()
    assert state == {"epoch": 4, "batches": 2, "length": 4, "seed": 3}
    again = ResumableLoader(
        dataset, EpochPlan(10, seed=3, flip=True), batch_size=3, collate_fn=lambda b: [i for i, _ in b]
    )
    again.restore(state)
    assert first + list(again) == full
    done = ResumableLoader(dataset, EpochPlan(10, seed=3, flip=True), batch_size=3)
    done.restore({**state, "batches": 4})
    assert done.plan.epoch == 5 and done.plan.skip == 0


# ----------------------------------------------------------------------------- a store shared by a group (issue 33)
def test_a_record_pointing_out_of_its_results_folder_or_at_other_weights_is_refused(trained, tmp_path, caplog):
    """Points 2 and 3: a record names its job folder inside the results folder it belongs to and
    the digest of the weights it scored; an edited `output_dir` (absolute elsewhere, or `../..`),
    a job file naming a record elsewhere, or a replaced `model.pt` is refused in one line naming
    the file, and never scored or cut from under the record's name."""
    from fcn_ablation.store import select
    from fcn_ablation.training.testing import load_trained

    src, rec = trained
    results = tmp_path / "results"
    shutil.copytree(src / "results", results)
    store = results_layout.store_dir(results, rec.dataset, rec.settings_key)
    path = next(store.glob("baseline-*.json"))
    good = filing.read_record(path)
    weights = filing.weights_of(good, tmp_path / "elsewhere")  # its own results folder, whatever the command's
    assert weights.is_relative_to(results.resolve()) and good.weights_sha256 == filing.file_digest(weights)
    assert load_trained(good, results) is not None

    outside = tmp_path / "outside"  # a copy of the very job folder, out of the results folder
    shutil.copytree(weights.parent, outside)
    for named in (str(outside), f"../../{outside.name}", f"runs/../../{outside.name}"):
        data = json.loads(path.read_text())
        data["output_dir"] = named
        path.write_text(json.dumps(data))
        edited = filing.read_record(path)
        with pytest.raises(UserError) as err:
            load_trained(edited, results)
        assert str(err.value).startswith(f"{path}: names {named}, outside the results folder {results.resolve()}")
        assert "\n" not in str(err.value)
        with caplog.at_level("WARNING"):  # never a start for init=baseline either: one warning, no weights
            assert filing.reference_baseline(store, results, "scratch", 0) is None
        assert sum(str(path) in m and "outside the results folder" in m for m in caplog.messages) >= 1

    data["output_dir"] = good.output_dir  # back home, but the weights replaced by others of the same shape
    path.write_text(json.dumps(data))
    other = torch.load(weights, weights_only=True)
    other["state_dict"] = {k: v + 1 if v.is_floating_point() else v for k, v in other["state_dict"].items()}
    torch.save(other, weights)
    with pytest.raises(UserError, match=r"model\.pt: not the weights .* scored \(its weights_sha256 differs\)"):
        load_trained(filing.read_record(path), results)

    sweep = results / "multiruns" / "sweep" / "0_baseline"  # a sweep's job file naming a record elsewhere
    sweep.mkdir(parents=True)
    (sweep / "job.json").write_text(json.dumps({"record": str(outside / "record.json")}))
    with pytest.raises(UserError, match=rf"^{sweep / 'job.json'}: names .*outside the results folder"):
        select.record_files(str(sweep.parent), results)


def _read_only(monkeypatch, *folders: Path) -> None:
    """`folders` as a user who may read but not write them sees them: real permissions where the
    tests run as a user (root ignores them), else the probe and every write there refused."""
    if os.geteuid() != 0:
        for folder in folders:
            for p in [folder, *folder.rglob("*")]:
                if p.is_dir():
                    p.chmod(0o555)
        return
    for name in ("mkstemp", "mkdtemp"):  # every file the project writes starts as one of these (`files.atomic_path`)
        monkeypatch.setattr(files.tempfile, name, _refused_in(getattr(files.tempfile, name), folders))


def _refused_in(real, folders):
    def refused(*args, dir=None, **kwargs):  # noqa: A002 - tempfile's own name
        if dir is not None and any(Path(dir).resolve().is_relative_to(f.resolve()) for f in folders):
            raise PermissionError(errno.EACCES, "Permission denied", str(dir))
        return real(*args, dir=dir, **kwargs)

    return refused


def test_a_store_one_can_read_but_not_write_gives_its_report_elsewhere(trained, tmp_path, monkeypatch, capsys):
    """Point 6: the report of a colleague's store (read-only) is one line naming --results-dir,
    and with it the report is written there; a job whose runs/ or store/ is someone else's stops
    at start-up naming that folder, before Hydra or the job makes anything."""
    from fcn_ablation.commands import report

    src, rec = trained
    theirs = tmp_path / "theirs"
    shutil.copytree(src / "results", theirs)
    store = results_layout.store_dir(theirs, rec.dataset, rec.settings_key)
    _read_only(monkeypatch, theirs)
    with pytest.raises(SystemExit) as end:
        report.main([str(store), "--permutations", "200"])
    err = capsys.readouterr().err
    assert end.value.code == 2 and "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith(f"error: {theirs / rec.dataset / rec.settings_key}: cannot write the report beside the store")
    assert "--results-dir DIR" in err
    assert report.main([str(store), "--results-dir", str(tmp_path / "mine"), "--permutations", "200"]) == 0
    assert (tmp_path / "mine" / rec.dataset / rec.settings_key / "report.md").is_file()

    from hydra import compose, initialize_config_dir
    from omegaconf.errors import InterpolationResolutionError

    from fcn_ablation.config.folder import config_dir
    from fcn_ablation.training.job import check_paths

    for under in ("runs", "multiruns", "store", "checkpoints"):
        shared = tmp_path / f"shared_{under}"
        (shared / under).mkdir(parents=True, exist_ok=True)
        _read_only(monkeypatch, shared / under)
        with initialize_config_dir(config_dir(), version_base="1.3"):
            cfg = compose("config", [f"paths.results_dir={shared}"], return_hydra_config=True)
        # where Hydra makes the job's folder (its resolver's error, which the command line turns into
        # the line alone: `test_bad_paths_and_hydra_errors_end_in_one_error_line`), or the job files its record
        with pytest.raises((UserError, InterpolationResolutionError)) as err:
            if under in ("runs", "multiruns"):
                str(cfg.hydra.run.dir if under == "runs" else cfg.hydra.sweep.dir)
            else:
                check_paths(cfg.paths)
        assert f"paths.results_dir={shared / under}: cannot create or write this folder" in str(err.value)
        assert "someone else's" in str(err.value) or under in ("store", "checkpoints")


def test_the_next_write_of_a_file_removes_what_killed_writes_of_it_left(tmp_path):
    """Point 7: a kill mid-write leaves a temporary beside the file (never the file itself cut
    short); the next write of that file removes it, and those of writers gone long ago, but never
    the temporary of a writer still at work."""
    import time

    target = tmp_path / "results.csv"
    code = ("import os, sys\nfrom fcn_ablation import files\nwith files.atomic_path(sys.argv[1]) as tmp:\n"
            "    tmp.write_text('half')\n    os.kill(os.getpid(), 9)")  # fmt: skip
    killed = subprocess_run([sys.executable, "-c", code, str(target)])
    assert killed.returncode == -signal.SIGKILL
    (left,) = tmp_path.glob(".results.csv.*.tmp")
    assert not target.exists()
    old = tmp_path / ".results.csv.abc123.tmp"  # another machine's, or an older version's, of long ago
    old.write_text("x")
    os.utime(old, (time.time() - 2 * files.STALE_AFTER_S,) * 2)
    working = tmp_path / f".results.csv.@{socket_host()}@{os.getpid()}@zz.tmp"  # this very process: at work
    working.write_text("x")
    recent = tmp_path / ".results.csv.other.tmp"  # another machine's, just now
    recent.write_text("x")
    files.atomic_write_text(target, "whole")
    assert target.read_text() == "whole"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, working.name, recent.name])
    assert not left.exists() and not old.exists()


def subprocess_run(args):
    import subprocess

    return subprocess.run(args, capture_output=True, text=True)


def socket_host() -> str:
    import socket

    return socket.gethostname().replace("@", "_")


@pytest.mark.slow
def test_a_read_only_cache_that_holds_the_data_set_is_used_and_one_that_lacks_it_is_one_line(
    tmp_path, monkeypatch, caplog
):
    """Point 7: a shared cache one may only read serves a job whose data set, scans and split
    files it already holds; a job that would add to it stops in one line naming the file."""
    cache = tmp_path / "cache"
    run_job(tmp_path / "first" / "runs" / "job", tiny_overrides(tmp_path / "first", cache))
    _read_only(monkeypatch, cache)
    with caplog.at_level("WARNING"):
        rec = run_job(tmp_path / "second" / "runs" / "job", tiny_overrides(tmp_path / "second", cache))
    assert rec.scores and f"paths.cache_dir={cache} is read-only to you: used as it is" in caplog.text
    with pytest.raises(UserError) as err:  # 41 images: a data set the cache does not hold
        run_job(tmp_path / "third" / "runs" / "job",
                tiny_overrides(tmp_path / "third", cache, "dataset.synthetic.num_images=41"))  # fmt: skip
    message = str(err.value)
    assert message.startswith(f"{cache}/synthetic-v") and "cannot write it (Permission denied)" in message
    assert "\n" not in message
