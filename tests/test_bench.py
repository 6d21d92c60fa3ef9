"""The benchmark's statistics and interleaving (not the speed: no timing thresholds here)."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
import torch
from omegaconf import OmegaConf

from fcn_ablation.bench.inference import (
    MATMUL,
    bench,
    bootstrap_median_ci,
    experiment_widths,
    rotated,
    run_rounds,
    summarise,
)
from fcn_ablation.config.schema import BenchConfig, SpeedConfig
from fcn_ablation.errors import ConfigError
from fcn_ablation.evaluation.timing import prepare
from fcn_ablation.models.cost import model_cost


def test_rounds_interleave_every_variant_once_and_rotate_the_order():
    calls = []
    measures = {name: (lambda n=name: calls.append(n) or float(len(calls))) for name in "ABC"}
    raw = run_rounds(measures, rounds=4, progress=False)
    assert calls == list("ABCBCACABABC")
    assert raw.groupby("round").variant.apply(sorted).tolist() == [list("ABC")] * 4
    assert raw.seconds.tolist() == [float(i) for i in range(1, 13)]
    # Over a full rotation every variant holds every position once.
    assert all(sorted(raw[raw.variant == v].position[:3]) == [0, 1, 2] for v in "ABC")
    assert rotated(["x"], 5) == ["x"]


def test_ratios_are_taken_within_rounds_so_shared_drift_cancels():
    # The machine slows down 3x over the rounds; B is always exactly 0.5 of the baseline.
    drift = [1.0, 1.5, 2.0, 3.0, 2.5]
    raw = pd.DataFrame(
        [
            {"round": r, "position": 0, "variant": v, "seconds": d * (1.0 if v == "baseline" else 0.5)}
            for r, d in enumerate(drift)
            for v in ("baseline", "B")
        ]
    )
    t = summarise(raw).set_index("variant")
    assert t.loc["B", "time_ratio"] == pytest.approx(0.5) and t.loc["B", "time_ratio_ci_low"] == pytest.approx(0.5)
    assert t.loc["B", "time_ratio_ci_high"] == pytest.approx(0.5)
    assert t.loc["baseline", "median_s"] == 2.0 and t.loc["B", "median_s"] == 1.0
    assert (t.loc["baseline", "q1_s"], t.loc["baseline", "q3_s"]) == (1.5, 2.5)
    # The ratio of medians would be fooled by nothing here, but the spread of times is large:
    assert t.loc["baseline", "ci_low_s"] < 2.0 < t.loc["baseline", "ci_high_s"]


def test_the_bootstrap_interval_covers_the_median_of_a_known_distribution():
    rng = np.random.default_rng(0)
    covered = 0
    for _ in range(200):
        sample = rng.normal(10, 1, 25)
        lo, hi = bootstrap_median_ci(sample, rng, n_boot=500)
        covered += lo <= 10 <= hi
    assert 0.88 <= covered / 200 <= 0.99  # nominal 95 %
    assert bootstrap_median_ci([3.0], rng) == (3.0, 3.0)


def test_every_experiment_file_is_benchmarked_by_default_baseline_first():
    widths = experiment_widths([], 1.0)
    assert list(widths)[:2] == ["baseline", "a"] and set(widths) >= set("abcdefgh")
    assert (widths["b"]["conv2_1"], widths["b"]["conv1_1"], widths["baseline"]["conv2_1"]) == (64, 64, 128)
    with pytest.raises(ConfigError, match=r"no .*/zz.yaml; available: baseline, a, b"):
        experiment_widths(["baseline", "zz"], 1.0)


def test_a_tiny_benchmark_writes_its_tables_with_consistent_columns(tmp_path):
    cfg = OmegaConf.structured(BenchConfig(experiments=["baseline", "a"], width_multiplier=1 / 32, height=24, width=32,
                                           rounds=3, warmup=1, matmul_size=64, out_dir=str(tmp_path)))  # fmt: skip
    (out,) = bench(cfg, progress=False)
    t = pd.read_csv(out / "bench.csv").set_index("variant")
    raw = pd.read_csv(out / "raw.csv")
    assert list(t.index) == ["baseline", "a", MATMUL] and len(raw) == 9
    for name in ("baseline", "a"):
        assert t.loc[name, "median_s"] == pytest.approx(raw[raw.variant == name].seconds.median())
        assert t.loc[name, "gflop_s"] == pytest.approx(2 * t.loc[name, "gmacs"] / t.loc[name, "median_s"])
        assert t.loc[name, "fraction_of_matmul"] == pytest.approx(t.loc[name, "gflop_s"] / t.loc[MATMUL, "gflop_s"])
    widths = experiment_widths(["a"], 1 / 32)["a"]
    assert t.loc["a", "gmacs"] == pytest.approx(model_cost(widths, 24, 32)[1] / 1e9)
    assert t.loc["a", "macs_ratio"] == pytest.approx(t.loc["a", "gmacs"] / t.loc["baseline", "gmacs"])
    assert t.loc[MATMUL, "gflop_s"] == pytest.approx(2 * 64**3 / raw[raw.variant == MATMUL].seconds.median() / 1e9)
    assert t.loc["a", "paper_time_ratio"] == pytest.approx(1 - 0.356)
    assert (out / "time_vs_macs.png").stat().st_size > 1000
    md_rows = {
        line.split("|")[1].strip(): line
        for line in (out / "bench.md").read_text().splitlines()
        if line.startswith("| ")
    }
    assert set(md_rows) == {"variant", "baseline", "a", MATMUL} and "nan" not in md_rows[MATMUL]
    assert md_rows[MATMUL].count(" - ") == 6  # params, MACs, the three ratios, their gap: none for a matmul
    assert out.name == "fp32-b1-32x24-w0.03125-baseline+a"
    header = json.loads((out / "bench.json").read_text())
    assert header["matmul_median_s"] == pytest.approx(raw[raw.variant == MATMUL].seconds.median())


@pytest.mark.parametrize(
    "other, spread, round_s, flagged",
    [
        (0.003, 1.8, 0.0005, False),  # a sub-millisecond matmul on a quiet machine: its spread is jitter
        (0.003, 1.8, 0.15, True),  # a 150 ms matmul that varied by 80 %: the machine's speed did
        (0.25, 1.1, 0.0005, True),  # other processes took a quarter of the CPU
        (None, 1.2, 0.15, False),  # load unknown (not Linux), steady rounds
    ],
)
def test_load_is_read_from_other_processes_and_from_the_spread_of_rounds_long_enough(other, spread, round_s, flagged):
    from fcn_ablation.bench.header import BenchHeader
    from fcn_ablation.bench.load import load_note, under_load

    assert under_load(other, spread, round_s) is flagged
    note = load_note(BenchHeader("CPU", "cpu", "2", "fp32", 5, "2026", other, round_s, spread, flagged))
    # rounds too short for their spread to tell load: a quiet device is not claimed
    unflagged = "Load judged by other processes' CPU time only" if round_s < 0.005 else "Quiet machine"
    assert note.startswith("**Benchmark taken under load**" if flagged else unflagged)
    assert ("too short for the spread to tell load" in note) is (round_s < 0.005)


@pytest.mark.parametrize("precision, channels_last", itertools.product(["fp32", "bf16"], [False, True]))
def test_speed_options_keep_the_output_and_run_in_inference_mode(precision, channels_last):
    from fcn_ablation.models.fcn8s import FCN8s

    torch.manual_seed(0)
    net = FCN8s(experiment_widths(["baseline"], 1 / 32)["baseline"])
    x = torch.randn(1, 3, 24, 32)
    ref = prepare(net, "cpu")(x)
    out = prepare(net, "cpu", SpeedConfig(precision, channels_last))(x)
    assert not out.requires_grad and out.shape == ref.shape
    assert out.dtype == (torch.bfloat16 if precision == "bf16" else torch.float32)  # autocast took effect
    tolerance = 1e-5 if precision == "fp32" else 0.03  # bf16 keeps 8 bits of mantissa
    assert (out.float() - ref).abs().max() <= tolerance * ref.abs().max()
    with pytest.raises(ConfigError, match="precision=fp16 needs a CUDA device, this is cpu"):
        prepare(net, "cpu", SpeedConfig("fp16"))
    with pytest.raises(ConfigError, match="tf32, cuda_graphs need a CUDA device, this is cpu"):
        prepare(net, "cpu", SpeedConfig(tf32=True, cuda_graphs=True))


def test_a_single_benchmark_run_writes_no_job_folder_or_log():
    """Its results go to out_dir: Hydra's run folder is the working directory, with no `.hydra/`
    and no log file (the data check's CLI test shows the same settings leave nothing behind)."""
    from hydra import compose, initialize_config_dir

    from fcn_ablation.config.folder import config_dir

    with initialize_config_dir(config_dir(), version_base="1.3"):
        hc = compose(config_name="bench", return_hydra_config=True).hydra
    assert hc.run.dir == "." and hc.output_subdir is None and "handlers" in hc.job_logging
    assert all(h.get("class") != "logging.FileHandler" for h in hc.job_logging.handlers.values())
