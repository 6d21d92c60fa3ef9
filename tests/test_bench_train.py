"""The training benchmark (`fcn-ablation-bench-train`): it composes the whole job config,
times the Lightning path and the plain loop over the same batches in interleaved rounds, and its
tables follow from its raw rounds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

from fcn_ablation.bench.train_rounds import train_flop
from fcn_ablation.config.folder import config_dir
from fcn_ablation.config.schema import register, register_bench_train
from fcn_ablation.errors import ConfigError
from fcn_ablation.models.cost import model_cost
from fcn_ablation.models.widths import build_widths

from helpers import cli

REQUIRED = ["experiment", "width_multiplier", "precision", "images_per_s", "step_ms", "lightning_vs_plain",
            "data_wait_share", "peak_mem_mb", "train_flops_vs_matmul"]  # fmt: skip


def _compose(overrides):
    from hydra.core.hydra_config import HydraConfig

    register_bench_train()
    try:
        with initialize_config_dir(config_dir(), version_base="1.3"):
            cfg = compose("bench_train", overrides=list(overrides), return_hydra_config=True)
    finally:
        register()  # the job's schema again, for every later composition in this process
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg


def tiny(tmp_path, cache_dir, *extra):
    return [f"paths.results_dir={tmp_path}/results", f"paths.cache_dir={cache_dir}", "dataset=synthetic_native",
            "dataset.synthetic.num_images=24", "dataset.synthetic.size=48", "dataset.synthetic.short_side=[32,48]",
            "dataset.num_workers=0", "model.width_multiplier=0.03125", "logger=none", "trainer.enable_progress_bar=false",
            "bench_train.rounds=2", "bench_train.steps=2", "bench_train.warmup=1", "bench_train.matmul_size=64", *extra]  # fmt: skip


def test_every_group_of_a_job_applies():
    cfg = _compose(["experiment=a", "recipe=paper", "trainer.precision=bf16-mixed", "model.width_multiplier=0.5",
                    "bench_train.rounds=3"])  # fmt: skip
    assert cfg.experiment.name == "a" and cfg.optimizer._target_ == "torch.optim.SGD"
    assert cfg.dataset.channel_order == "bgr" and cfg.trainer.precision == "bf16-mixed"
    assert cfg.bench_train.rounds == 3 and cfg.model.width_multiplier == 0.5


def test_the_tables_follow_from_the_rounds_and_both_paths_see_the_same_batches(tmp_path, cache_dir):
    from fcn_ablation.bench.training import bench_train

    cfg = _compose(tiny(tmp_path, cache_dir, "experiment=c", "train_speed.channels_last=false"))  # preset=cpu's is on
    out = bench_train(cfg, progress=False)
    assert out.parent.parent == tmp_path / "results" / "bench"
    assert (
        out.name == "train-c-synthetic_native-modern-w0.03125-32-true-zeros-fused-b1"
    )  # preset=cpu's fast paths named
    assert {p.name for p in out.iterdir()} >= {"bench.csv", "bench.md", "raw.csv", "bench.json", "config.yaml"}
    raw, table = pd.read_csv(out / "raw.csv"), pd.read_csv(out / "bench.csv").set_index("path")
    assert set(REQUIRED) <= set(table.columns) and list(table.index) == ["lightning", "plain"]
    assert len(raw) == 4 and (raw.steps == 2).all() and (raw.images == 2).all()
    # interleaved: each round holds both paths, the one going first alternates
    first = raw[raw.position == 0].sort_values("round").path.tolist()
    assert first == ["plain", "lightning"]
    # the same batches in the same order: equal work per round, and the FLOPs of those sizes
    wide = raw.pivot(index="round", columns="path", values="flop")
    np.testing.assert_allclose(wide.lightning, wide.plain)
    widths = build_widths({"conv3_1": 0.5, "conv3_2": 0.5, "conv3_3": 0.5}, 0.03125)
    sizes = {6 * model_cost(widths, h, w, 2)[1] for h in range(32, 49) for w in (48,)} | {
        6 * model_cost(widths, 48, w, 2)[1] for w in range(32, 49)
    }
    per_step = raw.flop / raw.steps
    assert per_step.min() >= min(sizes) * 0.999 and per_step.max() <= max(sizes) * 1.001
    # the summary recomputed from the raw rounds
    ips = raw.assign(ips=raw.images / raw.seconds).pivot(index="round", columns="path", values="ips")
    assert table.loc["lightning", "lightning_vs_plain"] == pytest.approx(float(np.median(ips.lightning / ips.plain)))
    # images/s and ms/step are one statistic: images per step over the median ms/step, its interval too
    for path in ("lightning", "plain"):
        row = table.loc[path]
        assert row.images_per_s * row.step_ms / 1000 == pytest.approx(1.0)  # one image a step (batch 1)
        assert row.images_per_s_ci_low * row.step_ms_ci_high / 1000 == pytest.approx(1.0)
        steps = raw[raw.path == path]
        assert row.step_ms == pytest.approx(float(np.median(1000 * steps.seconds / steps.steps)))
    assert 0 < table.loc["lightning", "data_wait_share"] < 1 and table.loc["lightning", "peak_mem_mb"] > 0
    assert table.loc["lightning", "width_multiplier"] == 0.03125 and table.loc["lightning", "experiment"] == "c"


def test_training_flops_are_six_times_the_forward_macs_at_the_padded_size():
    widths = build_widths({}, 0.0625)
    assert train_flop(widths, (2, 3, 300, 400), 0, 2) == 12 * model_cost(widths, 300, 400, 2)[1]
    assert train_flop(widths, (1, 3, 300, 400), 32, 2) == 6 * model_cost(widths, 320, 416, 2)[1]


@pytest.mark.parametrize(
    "override, says",
    [("bench_train.rounds=1", "rounds >= 2"), ("trainer.precision=64-true", "plain loop runs 32-true, bf16-mixed")],
)
def test_a_bad_setting_stops_with_one_line(tmp_path, cache_dir, override, says):
    from fcn_ablation.bench.training import check

    with pytest.raises(ConfigError, match=says) as err:
        check(_compose(tiny(tmp_path, cache_dir, override)))
    assert "\n" not in str(err.value)


@pytest.mark.slow
def test_the_command_says_what_it_does_and_a_bad_value_is_one_line(tmp_path):
    help_text = cli("--help", cwd=tmp_path, module="fcn_ablation.commands.bench_train")
    assert help_text.returncode == 0 and "plain PyTorch loop" in help_text.stdout
    bad = cli(
        f"paths.results_dir={tmp_path}/r",
        "bench_train.steps=0",
        cwd=tmp_path,
        module="fcn_ablation.commands.bench_train",
    )
    assert bad.returncode != 0 and bad.stderr.strip().splitlines()[-1].startswith("error: bench_train: rounds >= 2")
    assert not (tmp_path / "r").exists()


def test_composing_the_benchmark_leaves_the_jobs_schema_alone():
    from fcn_ablation.config.settings_key import settings_key

    from helpers import app_config

    before = settings_key(app_config([]), "s")
    _compose([])
    cfg = app_config([])
    assert "bench_train" not in cfg and settings_key(cfg, "s") == before


def test_a_profile_splits_each_steps_wall_time_into_busy_and_idle(tmp_path, cache_dir):
    """`bench_train.profile_steps`: that many more of Lightning's steps under torch.profiler, each
    step's window split into the device's busy time (here the CPU's operators) and the rest."""
    import gzip
    import json

    from fcn_ablation.bench.profile import STEP, step_times
    from fcn_ablation.bench.training import bench_train

    cfg = _compose(tiny(tmp_path, cache_dir, "bench_train.profile_steps=3"))
    out = bench_train(cfg, progress=False)
    steps = pd.read_csv(out / "profile.csv")
    assert len(steps) == 3 and (steps.wall_ms > 0).all() and (steps.busy_ms > 0).all()
    assert (steps.busy_ms <= steps.wall_ms + 1e-9).all()
    np.testing.assert_allclose(steps.idle_ms, steps.wall_ms - steps.busy_ms)
    trace = json.loads(gzip.decompress((out / "trace.json.gz").read_bytes()))
    pd.testing.assert_frame_equal(step_times(trace, "cpu"), steps, check_dtype=False)
    assert sum(e.get("name") == STEP for e in trace["traceEvents"]) == 3
    text = (out / "profile.md").read_text()
    assert "Per step (median)" in text and "aten::" in text  # the top operators are named
    said = (out / "bench.md").read_text()
    assert "Profile (3 more steps of Lightning's" in said
    assert "`of matmul` overstate the arithmetic done" in said  # preset=cpu's skip_zeros: FLOP/s counts skipped work
    # the benchmark's own rounds are unchanged by the profile after them
    assert len(pd.read_csv(out / "raw.csv")) == 4


def test_busy_time_is_the_union_of_the_devices_activity_within_each_step():
    from fcn_ablation.bench.profile import STEP, step_times

    def ev(cat, ts, dur, name="k"):
        return {"cat": cat, "name": name, "ts": ts, "dur": dur}

    trace = {"traceEvents": [ev("user_annotation", 0, 1000, STEP), ev("user_annotation", 1000, 1000, STEP),
                             ev("kernel", 100, 200), ev("kernel", 250, 150),  # overlap: 100..400 is 300 us
                             ev("gpu_memcpy", 900, 200),  # 100 us in each step
                             ev("cpu_op", 1200, 500),  # not device work on a GPU
                             ev("kernel", 1500, 100)]}  # fmt: skip
    t = step_times(trace, "cuda")
    assert t.busy_ms.tolist() == pytest.approx([0.4, 0.2]) and t.wall_ms.tolist() == pytest.approx([1.0, 1.0])
    assert step_times(trace, "cpu").busy_ms.tolist() == pytest.approx([0.0, 0.5])


def test_the_training_ceiling_is_a_bf16_matmul_of_8192_on_a_gpu():
    import torch

    from fcn_ablation.bench.inference import ceiling_size
    from fcn_ablation.bench.training import ceiling_dtype

    assert ceiling_size(torch.device("cuda")) == 8192 and ceiling_size(torch.device("cpu")) == 2048
    assert ceiling_dtype(torch.device("cuda"), "32-true") == torch.bfloat16
    assert ceiling_dtype(torch.device("cpu"), "32-true") == torch.float32
    assert ceiling_dtype(torch.device("cpu"), "bf16-mixed") == torch.bfloat16


def test_the_compile_mode_reaches_torch_compile_and_a_wrong_one_is_one_line(monkeypatch):
    import torch

    from fcn_ablation.config.checks import validate
    from fcn_ablation.errors import ConfigError
    from fcn_ablation.models.fast import compile_for_training

    seen = []
    monkeypatch.setattr(torch, "compile", lambda net, **kw: seen.append(kw) or net)
    net = torch.nn.Conv2d(3, 3, 1)
    compile_for_training(net, "reduce-overhead")
    compile_for_training(net)
    assert seen == [{"dynamic": False, "mode": "reduce-overhead"}, {"dynamic": False, "mode": None}]
    from helpers import compose_config

    with pytest.raises(ConfigError, match="train_speed.compile_mode: one of default, reduce-overhead"):
        validate(compose_config(["train_speed.compile_mode=fastest"]))
