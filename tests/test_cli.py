"""What a user sees at the command line: help, one-line errors for bad settings and files, no
empty folders left behind, W&B that never takes a run down and stays off the network offline."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fcn_ablation.commands import train
from fcn_ablation.config import folder
from fcn_ablation.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def run_module(module: str, *args, cwd: Path, env_extra=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true", **(env_extra or {})}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_help_says_what_the_tool_does_and_lists_its_commands(tmp_path):
    out = run_module("fcn_ablation", "--help", cwd=tmp_path).stdout
    assert out.startswith("fcn-ablation: what a network's width buys")
    for needle in ("experiment=NAME", "preset=cpu|cpu_photo|paper", "dataset=NAME", "folder (any DIR/images", "launcher=", "experiment: a, b, baseline", "fcn-ablation-report",
                   "fcn-ablation-data", "fcn-ablation-heuristics", "fcn-ablation-bench"):  # fmt: skip
        assert needle in out, needle
    assert "is powered by Hydra" not in out
    assert not (tmp_path / "results").exists()
    # every installed command but the former name kept for scripts (pyproject's [project.scripts])
    import tomllib

    scripts = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]["scripts"]
    missing = [
        name for name in scripts if name not in ("fcn-ablation", "fcn-ablation-baselines") and f"{name} " not in out
    ]
    assert not missing, missing


def test_the_benchmark_help_lists_only_its_own_keys():
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(version_base="1.3", config_dir=folder.config_dir()):
        template = compose(config_name="bench", return_hydra_config=True).hydra.help.template
    assert template.startswith("fcn-ablation-bench") and "width_multiplier=" in template
    assert "$APP_CONFIG_GROUPS" not in template and "experiment=" not in template  # groups it does not use


def test_a_yaml_syntax_error_in_an_experiment_file_is_one_line_naming_file_and_line(tmp_path, monkeypatch, capsys):
    conf = tmp_path / "conf"
    shutil.copytree(ROOT / "conf", conf)
    (conf / "experiment" / "mine.yaml").write_text("description: mine\nhalve: [conv1_1, conv1_2\n")
    expected = r"mine\.yaml: line 3, column 1: YAML syntax error: expected ',' or '\]'.* \(while parsing a flow sequence from line 2, column 8\); fix the file"
    with pytest.raises(ConfigError, match=expected):
        folder.check_config_files(conf)
    monkeypatch.setattr(folder, "config_dir", lambda: str(conf))
    with pytest.raises(SystemExit) as stop:
        train.main()
    err = capsys.readouterr().err
    assert (
        stop.value.code == 2
        and err.count("\n") == 1
        and err.startswith(f"error: {conf / 'experiment' / 'mine.yaml'}: line 3")
    )
    folder.check_config_files(ROOT / "conf")  # the shipped files parse


@pytest.mark.parametrize(
    "override, message",
    [
        ("seed=-1", "seed: must be in 0 .. 4294967295"),
        ("experiment.halve=[fc8]", "unknown layer 'fc8'"),
        ("dataset.split.seed=4294967296", "dataset.split.seed: must be in 0 .. 4294967295"),
        (
            "+trainer.max_epoch=3",
            "trainer.max_epoch: not an argument of pytorch_lightning.Trainer (did you mean trainer.max_epochs?)",
        ),
        ("trainer.precision=bogus", "trainer: Precision 'bogus' is invalid"),
        ("trainer.accelerator=gpu", "trainer: "),
        ("logger=wandb logger.mode=sometimes", "logger.mode: 'offline', 'online' or 'disabled'"),
        ("+optimizer.lr_by_start.imagenet=-1", "optimizer.lr_by_start.imagenet=-1"),
        ("dataset.root=/nonexistent/syn", "leave dataset.root unset to generate it (dataset.generate=true)"),
        (
            "test=false dataset.split.val=0 dataset.split.train=0.9",
            "test=false scores the validation split, which is empty",
        ),
        ("dataset=msra10k dataset.root=/nonexistent/msra", "/nonexistent/msra: data set root does not exist"),
        (
            "recipe=paper optimizer=adamw",
            "recipe=paper is Caffe's SGD on the summed loss, but optimizer._target_=torch.optim.AdamW",
        ),
        ("optimizer=sgd +optimizer.betas=[0.9,0.99]", "optimizer.betas: not an argument of torch.optim.sgd.SGD"),
        ("optimizer.betas=[2,0.999]", "optimizer: Invalid beta parameter at index 0"),
        (
            "logger=csv +logger.mode=online",
            "logger.mode: not an argument of pytorch_lightning.loggers.csv_logs.CSVLogger",
        ),
    ],
)
def test_bad_settings_stop_before_any_work_with_the_setting_named(compose_cfg, tmp_path, override, message):
    from fcn_ablation.errors import UserError
    from fcn_ablation.training.job import run

    no_logger = [] if "logger=" in override else ["logger=none"]
    cfg = compose_cfg(
        [f"paths.results_dir={tmp_path}/results", f"paths.cache_dir={tmp_path}/cache", *no_logger, *override.split()]
    )
    with pytest.raises(UserError) as err:
        run(cfg, tmp_path / "job")
    assert message in str(err.value) and "\n" not in str(err.value)
    if "msra10k" not in override:  # the generated set has no environment variable to set and nothing to download
        assert "SYNTHETIC_ROOT" not in str(err.value) and "download" not in str(err.value)
    assert not (tmp_path / "cache").exists()  # nothing generated, nothing trained


@pytest.mark.slow
def test_the_data_check_writes_no_job_folder(tmp_path):
    res = run_module("fcn_ablation.commands.data", f"paths.results_dir={tmp_path}/results", f"paths.cache_dir={tmp_path}/cache",
                     "dataset.synthetic.num_images=20", "dataset.synthetic.size=32", "timing.loader_images=8", cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    assert '"data_pairs_found": 20' in res.stdout
    assert not (tmp_path / "results").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["cache"]


def test_a_variant_that_rounds_to_the_baseline_is_said_to(compose_cfg, caplog):
    from fcn_ablation.training.job import plan_job, warn_if_same_as_baseline

    near = ["experiment=b", "experiment.halve=[]", "+experiment.factors.conv1_1=0.9"]  # 64 x 0.9 / 32 = 1.8: 2 channels
    with caplog.at_level("WARNING"):
        assert warn_if_same_as_baseline(plan_job(compose_cfg([*near, "model.width_multiplier=0.03125"])))
    assert "experiment b: at model.width_multiplier=0.03125 its widths round to the baseline's" in caplog.text
    assert not warn_if_same_as_baseline(plan_job(compose_cfg(["experiment=b"])))
    assert not warn_if_same_as_baseline(
        plan_job(compose_cfg(["experiment=baseline", "model.width_multiplier=0.03125"]))
    )


def _no_login(monkeypatch, tmp_path):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    (tmp_path / "netrc").write_text("")
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))


def test_online_without_a_login_or_a_route_falls_back_offline_or_stops_at_start(
    compose_cfg, monkeypatch, tmp_path, capsys
):
    from fcn_ablation.training.loggers import settle_mode

    _no_login(monkeypatch, tmp_path)
    cfg = compose_cfg(["logger.mode=online"])
    assert settle_mode(cfg.logger) == "offline" and cfg.logger.mode == "offline"
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "no W&B login" in out and "wandb sync" in out
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)  # a key, but no route to the server
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")
    cfg = compose_cfg(["logger.mode=online"])
    assert settle_mode(cfg.logger) == "offline" and "http://127.0.0.1:9 cannot be reached" in capsys.readouterr().out
    with pytest.raises(
        ConfigError, match=r"logger.mode=online: http://127.0.0.1:9 cannot be reached; .*logger.mode=offline"
    ):
        settle_mode(compose_cfg(["logger.mode=online", "logger.fallback_offline=false"]).logger)
    monkeypatch.setenv("WANDB_MODE", "online")
    settle_mode(compose_cfg(["logger=csv"]).logger)  # not W&B: nothing to check, nothing said
    assert capsys.readouterr().out == ""


def test_a_logging_failure_at_the_end_loses_no_result(caplog):
    from fcn_ablation.evaluation.registry import METRICS
    from fcn_ablation.store.record import Record
    from fcn_ablation.training.loggers import finish_logger

    class Broken:
        def log_metrics(self, metrics):
            raise ConnectionError("network down")

    with caplog.at_level("WARNING"):
        finish_logger(Broken(), Record("baseline", "t", scores=dict.fromkeys(METRICS, 1.0), params=1.0, macs=1.0))
    assert "could not write the final metrics (ConnectionError: network down)" in caplog.text


OFFLINE_RUN = """
from omegaconf import OmegaConf
from fcn_ablation.store.record import Record
from fcn_ablation.evaluation.registry import METRICS
from fcn_ablation.training.loggers import finish_logger, make_logger
cfg = OmegaConf.create({{
    "logger": {{"_target_": "pytorch_lightning.loggers.WandbLogger", "project": "p", "mode": "offline"}},
    "experiment": {{"name": "baseline"}}, "dataset": {{"name": "synthetic"}},
}})
logger = make_logger(cfg, {out!r}, "g")
logger.log_metrics({{"train/loss": 0.5}})
finish_logger(logger, Record("baseline", "t", scores=dict.fromkeys(METRICS, 1.0), params=1.0, macs=1.0))
print("logged")
"""


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace to watch the system calls")
def test_offline_w_and_b_opens_no_network_connection(tmp_path):
    """Every process W&B starts (its Go core included), traced: no socket to anything but a
    local (Unix) address, no name lookup."""
    script = tmp_path / "offline.py"
    script.write_text(OFFLINE_RUN.format(tests=str(ROOT / "tests"), out=str(tmp_path / "job")))
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env["PYTHONPATH"] = str(ROOT)
    trace = tmp_path / "trace.txt"
    res = subprocess.run(["strace", "-f", "-e", "trace=connect,sendto,sendmmsg", "-o", str(trace), sys.executable, str(script)],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    if res.returncode != 0 and "ptrace" in res.stderr:
        pytest.skip("ptrace is not permitted here")
    assert res.returncode == 0 and "logged" in res.stdout, res.stderr[-2000:]
    assert list((tmp_path / "job" / "wandb").glob("offline-run-*"))
    calls = trace.read_text().splitlines()
    network = [c for c in calls if "AF_INET" in c or "htons(53)" in c]
    assert not network, network[:5]


def test_a_run_that_trains_nothing_says_so_in_its_record(compose_cfg, tmp_path, cache_dir, caplog):
    from fcn_ablation.training.job import run

    from helpers import app_config, tiny_overrides

    cfg = app_config([*tiny_overrides(tmp_path, cache_dir), "trainer.max_epochs=0"])
    with caplog.at_level("WARNING"):
        record = run(cfg, tmp_path / "job")
    assert record.untrained is True and record.train_steps == 0
    assert "baseline: nothing was trained (trainer.max_epochs=0" in caplog.text


def test_a_file_broken_during_training_ends_the_run_with_one_line_naming_it(
    compose_cfg, tmp_path, cache_dir, monkeypatch
):
    """Two loader worker processes; the file breaks after the start-up check passed it."""
    from fcn_ablation.data.datamodule import SaliencyDataModule
    from fcn_ablation.errors import DataError

    from helpers import as_msra10k, msra10k_overrides, run_job

    setup = SaliencyDataModule.setup
    broken = []

    def setup_then_break(self, stage=None):
        setup(self, stage)
        if not broken:
            victim = self.train_set.pairs[3].image
            victim.write_bytes(b"not a jpeg any more")
            broken.append(victim)

    monkeypatch.setattr(SaliencyDataModule, "setup", setup_then_break)
    as_msra10k(tmp_path, tmp_path / "data" / "Imgs", 30, seed=1)
    with pytest.raises(DataError) as err:
        run_job(tmp_path / "job", msra10k_overrides(tmp_path, cache_dir, tmp_path / "data", workers=2))
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"{broken[0]}: cannot read the image"), msg


@pytest.mark.slow
@pytest.mark.parametrize(
    "bad", [["trainer.max_epochs=-1"], ["model.width_multiplier=1e-9"], ["-m", "dataset.batch_size=0"]]
)
def test_a_value_out_of_range_ends_in_one_line_and_leaves_no_folder(tmp_path, bad):
    """Issue 33, the bar: a value out of its range is one `error:` line, status 2, and neither a job
    folder nor a `runs/` or sweep folder, nor the results folder the command would have made."""
    res = run_module("fcn_ablation", *bad, f"paths.results_dir={tmp_path}/results", "logger=none", cwd=tmp_path)
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert res.returncode == 2 and len(errors) == 1 and "Traceback" not in res.stderr, res.stderr[-2000:]
    assert bad[-1].split("=")[0] in errors[0]
    assert not (tmp_path / "results").exists()
    (tmp_path / "results").mkdir()  # a results folder of one's own stays, empty
    res = run_module("fcn_ablation", *bad, f"paths.results_dir={tmp_path}/results", "logger=none", cwd=tmp_path)
    assert res.returncode == 2 and list((tmp_path / "results").iterdir()) == []


def test_a_run_outside_slurm_says_nothing_of_srun_and_ends_with_its_table_key(tmp_path, cache_dir):
    """Issue 37: on a machine that has `srun`, a job SLURM did not start says nothing about SLURM;
    the run's last lines name its table key and its max F on each test set."""
    import json
    import re

    from helpers import cli, tiny_overrides

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "srun").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "srun").chmod(0o755)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    res = cli(*tiny_overrides(tmp_path, cache_dir), "test_on=[synthetic,synthetic_128]", cwd=tmp_path, env_extra=env)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "srun" not in res.stdout + res.stderr
    (record,) = (tmp_path / "results" / "runs").glob("*/record.json")
    key = json.loads(record.read_text())["settings_key"]
    assert re.search(rf"^table {key} \(synthetic\): baseline, max F synthetic 0\.\d{{4}}; synthetic_128 0\.\d{{4}}$",
                     res.stdout, re.M), res.stdout[-1000:]  # fmt: skip
