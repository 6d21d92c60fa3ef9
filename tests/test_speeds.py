"""Table 3 under several speed settings: names that parse back, settings a device cannot run
refused, every setting's ratios in one table from its own benchmark, and the launch-bound flag."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from fcn_ablation.bench.header import BenchHeader
from fcn_ablation.config.schema import BenchConfig, SpeedConfig
from fcn_ablation.config.speeds import DEFAULTS, SpeedSetting, parse_setting, setting_folder, settings_for
from fcn_ablation.errors import ConfigError
from fcn_ablation.reporting import speed_table
from fcn_ablation.reporting.bench_files import Benchmark, read_bench
from fcn_ablation.store import filing


@pytest.mark.parametrize(
    "name", ["fp32", "fp32-tf32", "bf16", "bf16-graphs", "bf16-b16", "fp16-tf32-cl-compile-cudnn-graphs-b3"]
)
def test_a_setting_name_parses_back_to_itself(name):
    setting = parse_setting(name)
    assert setting.name == name and parse_setting(setting.name) == setting
    assert SpeedConfig.parse(setting.opts.slug()) == setting.opts


def test_setting_names_say_what_they_run():
    s = parse_setting("bf16-cl-graphs-b16")
    assert (s.opts.precision.value, s.opts.channels_last, s.opts.cuda_graphs, s.opts.tf32, s.batch_size) == (
        "bf16",
        True,
        True,
        False,
        16,
    )
    assert (
        parse_setting("fp32").is_paper
        and not parse_setting("fp32-b2").is_paper
        and not parse_setting("fp32-cl").is_paper
    )
    assert setting_folder("w1-400x300", parse_setting("fp32")) == "w1-400x300"
    assert setting_folder("w1-400x300", parse_setting("bf16-b16")) == "w1-400x300-bf16-b16"
    for bad in ("fp64", "bf16-turbo", "fp32-b0", "fp32-b"):
        with pytest.raises(ConfigError, match="speed setting"):
            parse_setting(bad)


def test_defaults_are_the_devices_and_what_a_cpu_cannot_run_is_refused_by_name():
    assert [s.name for s in settings_for(["defaults"], "cuda")] == DEFAULTS["cuda"]
    assert [s.name for s in settings_for(["defaults", "bf16", "fp32"], "cpu")] == ["fp32", "bf16"]  # each once
    assert len(DEFAULTS["cuda"]) == 5 and DEFAULTS["cuda"][0] == "fp32"
    with pytest.raises(
        ConfigError, match=r"report.speeds: 'bf16-graphs': cuda_graphs needs a CUDA device, this is cpu"
    ):
        settings_for(["fp32", "bf16-graphs"], "cpu", "report.speeds")
    with pytest.raises(ConfigError, match="'fp32-tf32': tf32 needs a CUDA device"):
        settings_for(["fp32-tf32"], "cpu")


def test_every_setting_is_benchmarked_in_its_folder_and_set_side_by_side(tmp_path):
    from fcn_ablation.bench.inference import bench
    from fcn_ablation.evaluation.timing import best_benchmarked

    cfg = OmegaConf.structured(BenchConfig(experiments=["baseline", "a", "c"], width_multiplier=1 / 32, height=24, width=32,
                                           rounds=3, warmup=1, matmul_size=64, out_dir=str(tmp_path), device="cpu",
                                           speeds=["fp32", "bf16", "fp32-b2", "fp32"]))  # fmt: skip
    folders = bench(cfg, progress=False)
    assert [f.name for f in folders] == [
        "fp32-b1-32x24-w0.03125-baseline+a+c",
        "bf16-b1-32x24-w0.03125-baseline+a+c",
        "fp32-b2-32x24-w0.03125-baseline+a+c",
    ]
    benches = [read_bench(f) for f in folders]
    assert [b.header.setting for b in benches] == ["fp32", "bf16", "fp32-b2"]
    assert [b.header.batch_size for b in benches] == [1, 1, 2]
    # Each folder's config names exactly its own setting, so `best_benchmarked` reads the right one.
    for f, b in zip(folders, benches):
        saved = OmegaConf.load(f / "config.yaml")
        assert (
            SpeedSetting(SpeedConfig.of(saved), saved.batch_size).name == b.header.setting and list(saved.speeds) == []
        )
    best = best_benchmarked(tmp_path, "cpu", "fp32", 24, 32, 1 / 32)
    assert best[1] == folders[0] / "bench.csv"  # batch 2 and bf16 never compete with batch-1 fp32

    speed_table.write(list(reversed(benches)), tmp_path, "t", "T")  # any order in: the reader's order out
    t = pd.read_csv(tmp_path / "speeds-t.csv")
    assert list(dict.fromkeys(t.setting)) == ["fp32", "bf16", "fp32-b2"] and len(t) == 9
    for b in benches:  # every cell is its own benchmark's ratio and interval
        mine = t[t.setting == b.header.setting].set_index("variant")
        theirs = b.table.set_index("variant")
        for col in ("time_ratio", "time_ratio_ci_low", "time_ratio_ci_high", "ms_per_image", "macs_ratio"):
            assert mine.loc["a", col] == pytest.approx(theirs.loc["a", col])
    text = (tmp_path / "speeds-t.md").read_text()
    header = next(line for line in text.splitlines() if line.startswith("| variant"))
    assert [c.strip() for c in header.split("|")[1:-1]] == [
        "variant",
        "MACs ratio",
        "paper (GTX 1080 Ti)",
        "fp32",
        "bf16",
        "fp32-b2",
    ]
    a_row = next(line for line in text.splitlines() if line.startswith("| a "))
    ratio = t[(t.setting == "bf16") & (t.variant == "a")].iloc[0]
    assert f"{ratio.time_ratio:.2f} [{ratio.time_ratio_ci_low:.2f}, {ratio.time_ratio_ci_high:.2f}]" in a_row
    assert "0.64" in a_row  # the paper's ratio for a (Table 3: -35.6 %)
    assert "**Detection time** in this project's tables" in text and "`fp32`: batch 1, fp32, eager" in text
    assert (tmp_path / "speeds-t.png").stat().st_size > 1000
    # the same table to paste: a row per variant, a cell per setting, the same marks
    tex = (tmp_path / "speeds-t.tex").read_text()
    body = tex.split("\\midrule")[1].strip().splitlines()
    assert [line.split(" & ")[0] for line in body] == ["baseline", "a", "c"]
    assert all(line.count(" & ") == 2 + 3 and line.endswith("\\\\") for line in body)
    assert sum(line.count("$\\approx$") for line in body) == text.count(" ≈ |")  # the cells the Markdown marks
    a_tex = next(line for line in body if line.startswith("a "))
    assert (
        f"{ratio.time_ratio:.2f}{{\\scriptsize [{ratio.time_ratio_ci_low:.2f}, {ratio.time_ratio_ci_high:.2f}]}}"
        in a_tex
    )
    assert "\\begin{tabular}{lrrccc}" in tex and "\\resizebox{\\textwidth}" in tex and "\\caption{Detection time" in tex


def _bench(setting: str, ratios: dict[str, float], macs: dict[str, float], spread: float = 0.01) -> Benchmark:
    """A benchmark whose variants take `ratios` of the baseline's time, round by round."""
    from fcn_ablation.bench.inference import summarise

    rng = np.random.default_rng(0)
    raw = pd.DataFrame([{"round": r, "position": 0, "variant": v, "seconds": 0.01 * ratio * (1 + rng.normal(0, spread))}
                        for r in range(10) for v, ratio in ratios.items()])  # fmt: skip
    t = summarise(raw)
    t["ms_per_image"] = 1000 * t.median_s
    t["macs_ratio"] = t.variant.map(macs)
    t["paper_time_ratio"] = t.variant.map({"a": 0.644})
    s = parse_setting(setting)
    header = BenchHeader(device="GPU test", device_slug="gpu-test", torch="2", settings=setting, rounds=10, created="x",
                         speed=s.opts.slug(), batch_size=s.batch_size, height=300, width=400)  # fmt: skip
    return Benchmark(header, t, raw, Path(setting))


def test_a_setting_is_bound_by_launches_when_a_quarter_of_the_macs_takes_the_baselines_time():
    macs = {"baseline": 1.0, "a": 0.25, "b": 0.9}
    benches = [_bench("fp32", {"baseline": 1, "a": 0.36, "b": 0.9}, macs),
               _bench("bf16", {"baseline": 1, "a": 0.99, "b": 1.0}, macs),
               _bench("bf16-b16", {"baseline": 1, "a": 0.5, "b": 0.95}, macs)]  # fmt: skip
    t = speed_table.speed_table(benches)
    bound = speed_table.bound_by(t).set_index("setting")
    assert bound.thinnest.tolist() == ["a"] * 3
    assert bound.launch_bound.to_dict() == {"fp32": False, "bf16": True, "bf16-b16": False}
    assert bound.loc["fp32", "time_saved_over_macs_saved"] == pytest.approx((1 - 0.36) / 0.75, abs=0.02)
    assert bound.loc["bf16", "time_saved_over_macs_saved"] == pytest.approx(0.01 / 0.75, abs=0.02)
    text = speed_table.markdown(t, benches, "T")
    assert "(here: bf16);" in text
    bound_row = next(line for line in text.splitlines() if line.startswith("| bound by"))
    assert [c.strip() for c in bound_row.split("|")[4:-1]] == ["arithmetic", "**launches**", "partly arithmetic"]
    b_row = next(line for line in text.splitlines() if line.startswith("| b "))
    assert b_row.count("≈") == 1  # bf16's b at 1.00: its interval holds 1; fp32's 0.90 and b16's 0.95 do not


def _speeds_report(tmp_path, speeds):
    """A store of two seeds of the baseline and a (full widths at 1/32), its variants benchmarked
    under `speeds` by `bench_table` and its report written; returns (store, report folder, benchmark folders)."""
    from test_report import _arrays, _record

    from fcn_ablation.bench.inference import bench_table
    from fcn_ablation.config import experiments
    from fcn_ablation.reporting.report import load_store, write_report

    store = tmp_path / "results" / "store" / "synthetic" / "k1"
    rng = np.random.default_rng(0)
    level = rng.uniform(0.75, 0.9, 40)
    for seed in range(2):
        for name in ("baseline", "a"):
            rec = _record(
                store, name, seed, _arrays(rng, level, 0.0), layers=() if name == "baseline" else ("conv1_1",)
            )
            widths = experiments.widths(name, 1 / 32)
            path = next(store.glob(f"{name}-{rec.created}.json"))
            filing.write_json(path, dataclasses.replace(rec, widths=widths, width_multiplier=1 / 32, cost_input_hw=[24, 32],
                                                        test_image_hw=[24, 32]).to_json())  # fmt: skip
    out = tmp_path / "results" / "synthetic" / "k1"
    folders = bench_table(load_store(store), out, device="cpu", rounds=2, warmup=0, width_multiplier=1 / 32,
                          progress=False, speeds=speeds)  # fmt: skip
    write_report(store, tmp_path / "results", permutations=50, width_multiplier=1 / 32)
    return store, out, folders


def test_a_report_shows_table_3_under_every_setting_its_benchmarks_hold(tmp_path):
    """`bench_table` times the table's variants under each setting (the paper's in the scale's own
    folder, which the time columns read), reuses them on a second call, and the report sets them
    side by side."""
    from fcn_ablation.bench.inference import bench_table
    from fcn_ablation.reporting.report import load_store

    store, out, folders = _speeds_report(tmp_path, ["fp32", "bf16", "fp32-b2"])
    assert [f.name for f in folders] == ["w0.03125-32x24", "w0.03125-32x24-bf16", "w0.03125-32x24-fp32-b2"]
    created = [read_bench(f).header.created for f in folders]
    again = bench_table(load_store(store), out, device="cpu", rounds=2, warmup=0, width_multiplier=1 / 32,
                        progress=False, speeds=["fp32", "bf16", "fp32-b2"])  # fmt: skip
    assert again == folders and [read_bench(f).header.created for f in again] == created  # reused, not retimed
    text = (out / "report.md").read_text()
    assert "## Detection time under every speed setting: CPU" in text
    device = folders[0].parent.name
    speeds = pd.read_csv(out / f"speeds-{device}.csv")
    assert list(dict.fromkeys(speeds.setting)) == ["fp32", "bf16", "fp32-b2"]
    df = pd.read_csv(out / "results.csv").set_index("experiment")
    fp32 = read_bench(folders[0]).table.set_index("variant")
    assert df.loc["a", "time_ratio"] == pytest.approx(fp32.loc["a", "time_ratio"])  # the time columns read fp32


@pytest.mark.slow
def test_the_reports_wandb_run_holds_table_3_under_every_setting(tmp_path, compose_cfg):
    from fcn_ablation.reporting.wandb_report import log_report

    from helpers import wandb_run

    _, out, folders = _speeds_report(tmp_path, ["fp32", "fp32-b2"])
    log_report(out, compose_cfg(["logger=wandb", "logger.mode=offline"]), group="sweep-1")
    (run_dir,) = (out / "wandb").glob("offline-run-*")
    summary = wandb_run(run_dir)["summary"]
    device = folders[0].parent.name
    speeds = pd.read_csv(out / f"speeds-{device}.csv").set_index(["setting", "variant"])
    for setting in ("fp32", "fp32-b2"):
        key = f"speeds/{device}/{setting}/a/time_ratio"
        assert summary[key] == pytest.approx(speeds.loc[(setting, "a"), "time_ratio"])
    assert any(p.name.startswith("report/speeds") or "speeds" in str(p) for p in run_dir.rglob("*.table.json"))


def test_the_end_of_sweep_settings_are_checked_before_any_job_for_the_jobs_device():
    from fcn_ablation.config.checks import validate

    from helpers import compose_config

    with pytest.raises(
        ConfigError, match=r"report.speeds: 'bf16-graphs': cuda_graphs needs a CUDA device, this is cpu"
    ):
        validate(compose_config(["report.speeds=[fp32,bf16-graphs]"]))
    with pytest.raises(ConfigError, match=r"speed setting 'fp8'"):
        validate(compose_config(["report.speeds=[fp8]"]))
    validate(compose_config(["report.speeds=[fp32,bf16-graphs]", "report.bench=false"]))  # not timed: not checked
    validate(compose_config(["report.speeds=[defaults,bf16-graphs]", "trainer=gpu"]))  # a GPU's jobs may ask for graphs


def test_a_benchmark_of_chosen_variants_is_named_apart_from_one_of_all_of_them():
    from fcn_ablation.results_layout import variants_part

    assert variants_part([]) == "" and variants_part(["baseline", "a"]) == "baseline+a"
    long = [f"search_trial_{i}" for i in range(6)]
    assert variants_part(long).startswith("6variants-") and variants_part(long) != variants_part(long[::-1])
