"""Reports from stores of records with known distributions (fixed RNG): rows over seeds, CIs that
cover, marks on what cannot be told apart, benchmark time, refusals, W&B, no torch."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fcn_ablation.errors import UserError
from fcn_ablation.evaluation.registry import METRICS, NOT_SIGNIFICANT
from fcn_ablation.reporting.report import load_store, table, write_report
from fcn_ablation.store import filing
from fcn_ablation.store.record import Record

IMAGES = 40
T = np.linspace(0, 1, 256)
SHAPE = 1 - 4 * (T - 0.5) ** 2  # a per-image F/E curve peaks at a middle threshold
MAE_TRUE = 0.06  # the baseline's MAE around which seeds and images scatter


def _arrays(rng, level, shift, mae_shift=0.0):
    names = np.array([f"img{i:02d}" for i in range(IMAGES)])
    curve = np.clip((level + shift)[:, None] * SHAPE + rng.normal(0, 0.01, (IMAGES, 1)), 0, 1)
    scores = np.clip(level + shift + rng.normal(0, 0.02, IMAGES), 0, 1)
    mae = np.clip(MAE_TRUE + mae_shift + rng.normal(0, 0.01, IMAGES), 0, 1)
    out = {"names": names, "f_curve": curve, "e_curve": curve, "adaptive_f": scores, "adaptive_e": scores,
           "s_measure": scores, "weighted_f": scores, "mae": mae}  # fmt: skip
    out["map/img00"] = (rng.random((8, 8)) * 255).astype(np.uint8)
    return out


def _record(store_dir, experiment, seed, arrays, split="s1", created=None, layers=()):
    f, e = arrays["f_curve"].mean(0), arrays["e_curve"].mean(0)
    metrics = {"max_f": f.max(), "mean_f": f.mean(), "adaptive_f": arrays["adaptive_f"].mean(), "max_e": e.max(), "mean_e": e.mean(),
               "adaptive_e": arrays["adaptive_e"].mean(), "s_measure": arrays["s_measure"].mean(),
               "weighted_f": arrays["weighted_f"].mean(), "mae": arrays["mae"].mean()}  # fmt: skip
    widths = {"conv1_1": 4 if not layers else 2, "fc7": 256}
    config = {"init": {"source": "scratch", "epochs": None}, "trainer": {"max_epochs": 7}, "model": {"width_multiplier": 0.0625},
              "optimizer": {"name": "adamw", "lr": 0.001}, "dataset": {"batch_size": 4}, "seed": seed}  # fmt: skip
    rec = Record(experiment=experiment, dataset="synthetic", settings_key="k1", data={"split_hash": split}, seed=seed,
                 created=created or f"2026010{seed}T00000{len(experiment)}Z-{experiment}", changed_layers=list(layers),
                 params=1e6, macs=(0.5 if layers else 1.0) * 1e9, test_images=IMAGES, device="CPU test",
                 detection_ms_per_image=5.0, init_tag="scratch", init={"source": "scratch"}, config=config,
                 cost_input_hw=[300, 400], test_image_hw=[96, 96], width_multiplier=0.0625, widths=widths,
                 scores={k: float(v) for k, v in metrics.items()})  # fmt: skip
    store_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{experiment}-{rec.created}"
    filing.write_arrays(store_dir / f"{stem}.npz", arrays)
    filing.write_json(store_dir / f"{stem}.json", rec.to_json())
    return rec


@pytest.fixture
def store(tmp_path):
    """Five seeds of a baseline, a variant 0.03 worse on every image (several standard errors),
    a variant drawn from the baseline's own distribution, and one with a single seed."""
    rng = np.random.default_rng(0)
    level = rng.uniform(0.75, 0.9, IMAGES)
    d = tmp_path / "results" / "store" / "synthetic" / "k1"
    for seed in range(5):
        seed_effect = rng.normal(0, 0.003)
        _record(d, "baseline", seed, _arrays(rng, level, seed_effect))
        _record(d, "b", seed, _arrays(rng, level, seed_effect - 0.03, mae_shift=0.02), layers=("conv2_1", "conv2_2"))
        _record(d, "c", seed, _arrays(rng, level, seed_effect), layers=("conv3_1",))
    _record(d, "d", 0, _arrays(rng, level, -0.03), layers=("conv4_1",))
    return d


def test_rows_are_distributions_over_seeds_with_paired_changes_and_marks(store):
    df = table(filing.read_records(store.glob("*.json")), permutations=2000).set_index("experiment")
    assert df.n.to_dict() == {"baseline": 5, "b": 5, "c": 5, "d": 1}
    assert df.loc["baseline", "reference"] and df.loc["b", "max_f_pairs"] == 5 and df.loc["d", "max_f_pairs"] == 1
    # The true difference (-0.03 on every image, a few standard errors) is found, with a CI around it.
    b = df.loc["b"]
    assert b.max_f_delta_ci_low < -0.03 * SHAPE.max() < b.max_f_delta_ci_high and b.max_f_delta_ci_high < 0
    assert b.max_f_p_holm < 0.05 and bool(b.max_f_significant)
    assert bool(b.mae_significant) and b.mae_delta == pytest.approx(0.02, abs=0.005)
    # The null variant is not flagged, and its interval holds zero.
    c = df.loc["c"]
    assert c.max_f_delta_ci_low < 0 < c.max_f_delta_ci_high and not bool(c.max_f_significant)
    # CIs over seeds cover the known mean of the baseline's MAE.
    assert df.loc["baseline", "mae_ci_low"] < MAE_TRUE < df.loc["baseline", "mae_ci_high"]
    # One seed: a mean, no interval; its test (one seed's images) still runs.
    assert np.isnan(df.loc["d", "max_f_ci_low"]) and not np.isnan(df.loc["d", "max_f_p"])
    # Holm over the three variants: the adjusted p is never below the raw one.
    assert (df.max_f_p_holm.dropna() >= df.max_f_p.dropna()).all()


def test_the_markdown_and_csv_say_which_changes_cannot_be_told_apart(store, tmp_path):
    out = write_report(store, tmp_path / "results", permutations=500)
    text = (out / "report.md").read_text()
    main = text.split("## Every metric")[0]  # the headline table
    lines = {line.split("|")[1].strip(): line for line in main.splitlines() if line.startswith("| ") and "±" in line}
    assert NOT_SIGNIFICANT in lines["c"] and NOT_SIGNIFICANT not in lines["b"].split("|")[9]  # max F vs base column
    assert f"{NOT_SIGNIFICANT} marks a change we cannot tell from zero" in text and "t-interval over seeds" in text
    assert "No benchmark of these variants yet" in text  # no time from single timing passes
    df = pd.read_csv(out / "results.csv")
    assert {
        "max_f_ci_low",
        "max_f_delta",
        "max_f_p_holm",
        "max_f_significant",
        "s_measure",
        "weighted_f",
        "max_e",
    } <= set(df.columns)
    assert (out / "f_vs_time.png").stat().st_size > 1000 and (out / "maps.png").stat().st_size > 1000


def test_one_seed_still_reports_and_says_no_interval_is_possible(tmp_path):
    rng = np.random.default_rng(4)
    level = rng.uniform(0.75, 0.9, IMAGES)
    d = tmp_path / "store"
    _record(d, "baseline", 0, _arrays(rng, level, 0))
    _record(d, "a", 0, _arrays(rng, level, -0.05), layers=("conv1_1",))
    text = (write_report(d, tmp_path / "results", permutations=200) / "report.md").read_text()
    assert "One seed per row: no confidence interval is possible" in text


def test_records_of_two_test_sets_are_refused_with_the_files_named(tmp_path):
    rng = np.random.default_rng(5)
    level = rng.uniform(0.75, 0.9, IMAGES)
    d = tmp_path / "store"
    _record(d, "baseline", 0, _arrays(rng, level, 0), split="aaa")
    _record(d, "a", 0, _arrays(rng, level, 0), split="bbb", layers=("conv1_1",))
    with pytest.raises(
        UserError, match=r"tested on 2 different splits .*split aaa: e.g. baseline-.*split bbb: e.g. a-"
    ):
        load_store(d)
    res = subprocess.run([sys.executable, "-m", "fcn_ablation.commands.report", str(d)], capture_output=True, text=True)
    assert res.returncode == 2 and "Traceback" not in res.stderr and "different splits" in res.stderr


@pytest.mark.slow
def test_time_columns_come_from_a_benchmark_of_exactly_the_tables_variants(store, tmp_path):
    results = tmp_path / "results"
    recs = load_store(store)
    from fcn_ablation.store.filing import table_widths

    widths = table_widths(recs, 1.0)
    bench = results / "synthetic" / "k1" / "bench" / "cpu-test-2t" / "w1-400x300"
    bench.mkdir(parents=True)
    rng = np.random.default_rng(6)
    raw = []
    for r in range(10):
        base = 1.0 + rng.normal(0, 0.01)
        for v, ratio in (("baseline", 1.0), ("b", 0.8), ("c", 1.0), ("d", 0.5), ("matmul", 0.1)):
            raw.append(
                {
                    "round": r,
                    "position": 0,
                    "variant": v,
                    "seconds": base * ratio * (1 + rng.normal(0, 0.002 if v != "c" else 0.01)),
                }
            )
    raw = pd.DataFrame(raw)
    from fcn_ablation.bench.header import BenchHeader
    from fcn_ablation.bench.inference import summarise

    summary = summarise(raw)
    summary["ms_per_image"] = 1000 * summary.median_s
    summary["macs_ratio"] = 1.0
    summary.to_csv(bench / "bench.csv", index=False)
    raw.to_csv(bench / "raw.csv", index=False)
    header = BenchHeader(device="CPU test", device_slug="cpu-test-2t", torch="2", settings="w1-400x300", rounds=10,
                         created="2026-01-01T00:00:00", other_load=0.01, matmul_median_s=0.01, matmul_spread=1.05,
                         speed="fp32", width=400, height=300, batch_size=1, widths=widths)  # fmt: skip
    header.write(bench)
    out = write_report(store, results, permutations=200)
    df = pd.read_csv(out / "results.csv").set_index("experiment")
    assert df.loc["b", "time_ratio"] == pytest.approx(0.8, abs=0.01) and bool(df.loc["b", "time_significant"])
    assert df.loc["c", "time_ratio"] == pytest.approx(1.0, abs=0.02) and not bool(df.loc["c", "time_significant"])
    assert np.isnan(df.loc["baseline", "time_vs_base_pct"])
    text = (out / "report.md").read_text()
    assert "interleaved benchmark of exactly these variants" in text and "Quiet machine" in text
    # Another set of variants (a benchmark of other widths) is never borrowed.
    dataclasses.replace(header, widths={**widths, "b": {"conv1_1": 1}}).write(bench)
    assert (
        "No benchmark of these variants yet"
        in (write_report(store, results, permutations=200) / "report.md").read_text()
    )


@pytest.mark.slow
def test_the_report_is_a_wandb_run_of_its_own_with_the_table(store, tmp_path, monkeypatch, compose_cfg):
    from fcn_ablation.reporting.wandb_report import log_report

    out = write_report(store, tmp_path / "results", permutations=200)
    cfg = compose_cfg(["logger=wandb", "logger.mode=offline"])
    folder = log_report(out, cfg, group="sweep-1")
    (run_dir,) = (out / "wandb").glob("offline-run-*")
    assert str(run_dir) in folder
    tables = [json.loads(p.read_text()) for p in run_dir.rglob("*.table.json")]
    assert tables, list(run_dir.rglob("*"))
    rows = [t for t in tables if "experiment" in t["columns"]]  # the report's table, and the test set's
    assert rows and all(len(t["data"]) == 4 for t in rows)
    lines = [t for t in tables if t["columns"] == ["step", "lineKey", "lineVal"]]  # each curve a line plot
    assert len(lines) >= 2, [sorted({r[1] for r in t["data"]}) for t in lines]  # F and E (these records keep no PR)
    assert all({r[1] for r in t["data"]} == {"baseline", "b", "c", "d"} for t in lines)
    assert (run_dir / "files" / "wandb-summary.json").is_file() or list(run_dir.rglob("*.wandb"))


def test_the_report_layer_imports_neither_torch_nor_the_model_code_nor_the_schema():
    """It reads the layer table (`models.arch`, plain data), never the network or torch."""
    table = ("fcn_ablation.models", "fcn_ablation.models.arch", "fcn_ablation.models.choices")  # plain data
    code = "import sys, fcn_ablation.reporting.report, fcn_ablation.evaluation.stats, fcn_ablation.store.filing; " \
           "print([m for m in sys.modules if m in ('torch', 'fcn_ablation.config.schema') or m.startswith(('torch.', " \
           f"'fcn_ablation.models')) and m not in {table}])"  # fmt: skip
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]", res.stdout


def test_every_committed_record_reads_back_unchanged_through_the_record_type():
    """`Record` is the one form every reader uses: each record file the project has committed (of
    every age and form) reads into it and writes back as the very same JSON object."""
    from fcn_ablation.store.record import Record

    checked = 0
    for path in sorted((Path(__file__).resolve().parents[1] / "results").glob("**/store/**/*.json")):
        data = json.loads(path.read_text())
        record = filing.read_record(path)
        assert isinstance(record, Record) and record.path == path
        assert record.to_json() == data, path
        assert record.scores == {k: data[k] for k in METRICS if k in data}
        checked += 1
    assert checked >= 190


def test_a_gpu_sweep_ending_on_a_machine_without_one_writes_its_report_and_the_command_to_benchmark(
    store, tmp_path, compose_cfg, capsys
):
    """The launching machine (a login node) lacks the jobs' GPU: no stop at the sweep's very end; the
    report is written with MACs, and one line says which command makes the benchmark where the jobs ran."""
    import torch

    from fcn_ablation.commands.sweep_report import build_report

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    cfg = compose_cfg(["trainer=gpu", "report.permutations=200"])
    out = build_report(cfg, store, tmp_path / "results", bench=True, to_wandb=False)
    md = (out / "report.md").read_text()
    assert "No benchmark of these variants yet" in md and not (out / "bench").exists()
    said = capsys.readouterr().out
    assert f"fcn-ablation-report {store} --bench --device gpu" in said and "no CUDA device" in said


def test_two_sweeps_ending_together_benchmark_their_table_one_at_a_time(tmp_path, monkeypatch, capsys):
    """Issue 33, point 8: the end-of-sweep benchmark holds the table's benchmark lock; a second
    sweep of the same table waits for it (saying so), then finds the first one's benchmark."""
    import threading
    import time

    from filelock import FileLock

    from fcn_ablation.commands import sweep_report

    spans = []

    def bench(cfg, recs, out):
        start = time.monotonic()
        time.sleep(0.3)
        spans.append((start, time.monotonic()))

    monkeypatch.setattr(sweep_report, "_bench_on_the_jobs_device", bench)
    other = FileLock(str(tmp_path / ".bench.lock"), thread_local=False)  # the first sweep's, mid-benchmark
    other.acquire()
    threading.Timer(0.5, other.release).start()
    t0 = time.monotonic()
    threads = [
        threading.Thread(target=sweep_report.bench_on_the_jobs_device, args=(None, [], tmp_path)) for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(spans) == 2 and min(s for s, _ in spans) >= t0 + 0.45  # neither ran while the other sweep held it
    (a, b) = sorted(spans)
    assert b[0] >= a[1]  # and never two at once
    assert "another sweep is benchmarking this table; waiting for it" in capsys.readouterr().out
