"""What the tests share: the app's config as composed, settings that run a job in seconds, and
the two ways of running one, in this process (`run_job`, no import cost) or as a user does
(`cli`, a fresh process: exit status, console, signals, launchers)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig

from fcn_ablation.config.folder import config_dir
from fcn_ablation.config.schema import register

ROOT = Path(__file__).resolve().parents[1]
register()


def compose_config(overrides=()):
    """The config `python -m fcn_ablation <overrides>` would run with (HydraConfig set, so
    `${hydra:...}` interpolations such as the experiment's name resolve)."""
    with initialize_config_dir(config_dir(), version_base="1.3"):
        cfg = compose("config", overrides=list(overrides), return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    return cfg


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


def as_msra10k(tmp_path, images: Path, n: int, seed: int) -> Path:
    """A generated set copied into `images` (a folder of `N.jpg` beside `N.png`, MSRA10K's archive
    layout): the real loaders' input, made here."""
    import shutil

    from fcn_ablation.data.synthetic import generate

    shutil.copytree(generate(Path(tmp_path) / "syn", n, 32, seed=seed) / "Imgs", images)
    return images


def msra10k_overrides(tmp_path, cache_dir, root: Path, workers: int) -> list[str]:
    """A tiny job on the real MSRA10K loader, its data set at `root`."""
    return [
        *tiny_overrides(tmp_path, cache_dir),
        "dataset=msra10k",
        f"dataset.root={root}",
        f"dataset.num_workers={workers}",
    ]


def app_config(overrides=()):
    """The config as the app's task function sees it: composed, without the `hydra` node."""
    from omegaconf import open_dict

    cfg = compose_config(overrides)
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg


def run_job(output_dir: Path, overrides) -> dict:
    """One job of the training app in this process (`run.run` on the composed config): its record."""
    from fcn_ablation.training.job import run

    return run(app_config(overrides), Path(output_dir))


def _env(extra=None) -> dict:
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true", **(extra or {})}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def cli(
    *args, cwd: Path, module: str = "fcn_ablation", env_extra=None, timeout: float = 600
) -> subprocess.CompletedProcess:
    """`python -m <module> <args>` in a fresh process, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=_env(env_extra),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start(*args, cwd: Path, env_extra: dict | None = None) -> subprocess.Popen:
    """`python -m fcn_ablation <args>` started in a session of its own (to be signalled)."""
    return subprocess.Popen([sys.executable, "-m", "fcn_ablation", *args], cwd=cwd, env={**_env(), **(env_extra or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip


def wandb_run(run_dir: Path) -> dict:
    """What an offline W&B run holds, read back from its `run-*.wandb` file (LevelDB's log format:
    32 KiB blocks of records, each a 7-byte header and a piece of a protobuf `Record`, after W&B's
    own 7-byte file header): {"config": {...}, "summary": {...}, "history": [{...}], "exit_code": n}."""
    import json
    import struct

    from wandb.proto import wandb_internal_pb2 as pb

    (path,) = Path(run_dir).glob("run-*.wandb")
    data = path.read_bytes()
    assert data[:4] == b":W&B", data[:7]
    block, header = 32768, 7
    pos, piece = header, b""
    run = {"config": {}, "summary": {}, "history": [], "exit_code": None}
    while pos + header <= len(data):
        left = block - pos % block
        if left < header:  # a block's tail too short for a header: padding
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + header])
        if kind == 0:  # zeros to the end of the block
            pos += left
            continue
        piece = (b"" if kind in (1, 2) else piece) + data[pos + header : pos + header + length]
        pos += header + length
        if kind in (2, 3):  # the first or a middle piece of a longer record
            continue
        record = pb.Record()
        record.ParseFromString(piece)
        which = record.WhichOneof("record_type")
        if which == "run":
            run["config"].update({i.key: json.loads(i.value_json) for i in record.run.config.update})
            run["group"] = record.run.run_group
        elif which == "config":
            run["config"].update({i.key: json.loads(i.value_json) for i in record.config.update})
        elif which == "summary":
            run["summary"].update({_key(i): json.loads(i.value_json) for i in record.summary.update})
        elif which == "history":
            run["history"].append({_key(i): json.loads(i.value_json) for i in record.history.item})
        elif which == "exit":
            run["exit_code"] = record.exit.exit_code
    return run


def _key(item) -> str:
    """A W&B item's key: `key`, or, for keys with a slash, the parts W&B keeps in `nested_key`."""
    return item.key or "/".join(item.nested_key)
