"""Train once, test everywhere (issue 25): a job's test sets (`test_on`), a later evaluation of
stored models (`fcn-ablation-evaluate`), the report's table, curves and maps per test set, and the
tables to paste (LaTeX, Markdown)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from fcn_ablation import results_layout
from fcn_ablation.config.checks import validate
from fcn_ablation.config.folder import config_dir
from fcn_ablation.errors import ConfigError, DataError
from fcn_ablation.evaluation.registry import METRICS
from fcn_ablation.store import filing, select, tested

from helpers import app_config, cli, run_job, tiny_overrides


def ecssd_miniature(tmp_path: Path, n: int = 12) -> Path:
    """ECSSD as its two published archives unpack (images/ and ground_truth_mask/), other pictures
    than the training set's (another seed, another size)."""
    from fcn_ablation.data.synthetic import generate

    src = generate(tmp_path / "ecssd-source", n, 40, seed=5) / "Imgs"
    root = tmp_path / "ECSSD"
    (root / "images").mkdir(parents=True)
    (root / "ground_truth_mask").mkdir()
    for p in src.glob("*.jpg"):
        shutil.copy(p, root / "images" / p.name)
    for p in src.glob("*.png"):
        shutil.copy(p, root / "ground_truth_mask" / p.name)
    return root


def evaluate_config(overrides):
    with initialize_config_dir(config_dir(), version_base="1.3"):
        cfg = compose("evaluate", overrides=list(overrides))
    return cfg


def _only(paths):
    paths = list(paths)
    assert len(paths) == 1, paths
    return paths[0]


@pytest.mark.slow
def test_a_job_tests_on_each_set_and_a_later_evaluation_is_the_same_test(tmp_path, cache_dir, capsys):
    ecssd = ecssd_miniature(tmp_path)
    over = tiny_overrides(tmp_path, cache_dir, "test_on=[synthetic,ecssd]", f"+test_data.ecssd.root={ecssd}",
                          "report.grid_images=2")  # fmt: skip
    record = run_job(tmp_path / "results" / "runs" / "job", over)
    assert set(record.scores) == set(METRICS) and record.test_images == 4  # its own split: 40 images, 10 %
    e = record.test_sets["ecssd"]
    assert set(e.scores) == set(METRICS) and e.test_images == 12
    assert e.data["data_layout"] == {"images": "images", "masks": "ground_truth_mask"}
    assert e.dataset["mean"] == list(record.config["dataset"]["mean"])  # the training set's input space
    arrays = filing.read_arrays(record.path, "ecssd/")
    assert sorted(arrays["names"].tolist()) == sorted(p.stem for p in (ecssd / "images").glob("*.jpg"))
    assert arrays["f_curve"].shape == (12, 256) and arrays["curve/precision"].shape == (256,)
    assert len([k for k in arrays if k.startswith("map/")]) == 2
    own = filing.read_arrays(record.path)
    assert own["names"].shape == (4,) and "precision_curve" not in own  # per-image PR curves kept as means only
    np.testing.assert_allclose(own["curve/f"], own["f_curve"].mean(0), atol=1e-6)
    assert float(own["curve/f"].max()) == pytest.approx(record.scores["max_f"], abs=1e-6)

    # The same weights scored later on the same set: skipped as done, then (rerun) the same numbers.
    from fcn_ablation.commands.evaluate import evaluate

    store = results_layout.store_of_record(record.path)
    ev = [f"models=[{store}]", "dataset=ecssd", f"dataset.root={ecssd}", f"paths.cache_dir={cache_dir}",
          "progress=false", "accelerator=cpu"]  # fmt: skip
    done, _ = evaluate(evaluate_config(ev))
    assert [p for *_, p in done[store]] == [None] and not (store / tested.EVALUATIONS).exists()
    done, _ = evaluate(evaluate_config([*ev, "rerun=true"]))
    (_, entry, filed), = done[store]  # fmt: skip
    for k, v in e.scores.items():
        assert entry.scores[k] == pytest.approx(v, abs=1e-6), k
    again = filing.read_arrays(filed, "ecssd/")
    np.testing.assert_allclose(again["f_curve"], arrays["f_curve"], atol=1e-6)

    # A set the job never saw, scored without training, the table named by its key.
    done, _ = evaluate(evaluate_config([f"models=[{record.settings_key}]", f"paths.results_dir={tmp_path}/results",
                                        f"paths.cache_dir={cache_dir}", "dataset=synthetic_128",
                                        "dataset.synthetic.num_images=10", "dataset.synthetic.size=40",
                                        "progress=false", "accelerator=cpu"]))  # fmt: skip
    assert [p is not None for *_, p in done[store]] == [True]
    filed = _only(p for p in (store / tested.EVALUATIONS).glob("*.json") if "--synthetic_128--" in p.name)
    new = json.loads(filed.read_text())["test_sets"]["synthetic_128"]
    assert new["test_images"] == 10
    results = tested.results_of(filing.read_record(record.path))
    assert set(results) == {"synthetic", "ecssd", "synthetic_128"}
    assert results["ecssd"].created == entry.created  # the newest result on a set is the one shown

    from fcn_ablation.reporting.report import write_report

    out = write_report(store, tmp_path / "results", permutations=200)
    for name, scores in (("synthetic", record.scores), ("ecssd", entry.scores), ("synthetic_128", new["scores"])):
        folder = out / "test_sets" / name
        df = pd.read_csv(folder / "results.csv")
        assert df.max_f.iloc[0] == pytest.approx(scores["max_f"], abs=1e-9), name
        assert (
            (folder / "curves.png").is_file() and (folder / "maps.png").is_file() and (folder / "report.md").is_file()
        )
        curves = pd.read_csv(folder / "curves_by_seed.csv")
        assert len(curves) == 256 and curves.f.max() == pytest.approx(scores["max_f"], abs=1e-6)
    tex = (out / "table.tex").read_text()
    assert (
        tex.count("\\multicolumn{6}{c}") == 3
        and "\\resizebox{\\textwidth}" in tex
        and "synthetic\\_128" in tex
        and "\\toprule" in tex
    )
    report = (out / "report.md").read_text()
    assert "## Every test set" in report and "[curves](test_sets/ecssd/curves.png)" in report


def test_the_evaluate_command_says_what_it_scores(tmp_path):
    res = cli("--help", module="fcn_ablation.evaluate", cwd=tmp_path)
    assert res.returncode == 0 and "score stored models on a data set, no training" in res.stdout
    assert "a table key" in res.stdout and "a sweep's folder" in res.stdout and "dataset=NAME" in res.stdout


def test_a_done_job_asked_for_another_set_tests_its_stored_weights_without_training(tmp_path, cache_dir):
    ecssd = ecssd_miniature(tmp_path)
    first = run_job(tmp_path / "results" / "runs" / "one", tiny_overrides(tmp_path, cache_dir))
    assert first.test_sets == {}
    over = tiny_overrides(tmp_path, cache_dir, "test_on=[synthetic,ecssd]", f"+test_data.ecssd.root={ecssd}")
    second = run_job(tmp_path / "results" / "runs" / "two", over)
    store = results_layout.store_of_record(first.path)
    assert second.path == first.path and len(list(store.glob("*.json"))) == 1  # not trained again
    filed = _only((store / tested.EVALUATIONS).glob("*.json"))
    assert json.loads(filed.read_text())["evaluation_of"] == first.path.name
    assert set(tested.results_of(filing.read_record(first.path))) == {"synthetic", "ecssd"}
    run_job(tmp_path / "results" / "runs" / "three", over)  # and a third time: nothing to test
    assert len(list((store / tested.EVALUATIONS).glob("*.json"))) == 1
    # What a launcher reads before starting a sweep's job: done, unless a set of test_on lacks its result.
    from fcn_ablation.training.job import stored_record

    assert stored_record(app_config(over)) == first.path
    more = tiny_overrides(
        tmp_path, cache_dir, "test_on=[synthetic,ecssd,synthetic_128]", f"+test_data.ecssd.root={ecssd}"
    )
    assert stored_record(app_config(more)) is None  # synthetic_128 not split yet: the job starts and tests it


def test_evaluate_scores_what_it_can_and_names_each_model_it_cannot(tmp_path, cache_dir):
    from fcn_ablation.commands.evaluate import evaluate

    rec = run_job(tmp_path / "results" / "runs" / "job", tiny_overrides(tmp_path, cache_dir, "save_checkpoint=false"))
    done, failed = evaluate(evaluate_config([f"models=[{rec.settings_key}]", f"paths.results_dir={tmp_path}/results",
                                             f"paths.cache_dir={cache_dir}", "dataset=synthetic_128",
                                             "dataset.synthetic.num_images=6", "dataset.synthetic.size=40",
                                             "progress=false", "accelerator=cpu"]))  # fmt: skip
    assert done == {} and len(failed) == 1
    assert "model.pt: no weights of" in failed[0] and "save_checkpoint=false" in failed[0]
    # the set to score on is the command's own `dataset`: its error names `dataset.root`
    with pytest.raises(DataError, match=r"^/nowhere: data set root does not exist; pass dataset\.root=/path/to/ecssd"):
        evaluate(evaluate_config([f"models=[{rec.settings_key}]", f"paths.results_dir={tmp_path}/results",
                                  f"paths.cache_dir={cache_dir}", "dataset=ecssd", "dataset.root=/nowhere"]))  # fmt: skip


def test_trained_on_a_set_without_a_test_part_its_table_is_its_first_test_set(tmp_path, cache_dir):
    ecssd = ecssd_miniature(tmp_path)
    over = tiny_overrides(tmp_path, cache_dir, "dataset.split.train=0.9", "dataset.split.val=0.1",
                          "dataset.split.test=0", "test_on=[ecssd]", f"+test_data.ecssd.root={ecssd}")  # fmt: skip
    record = run_job(tmp_path / "results" / "runs" / "job", over)
    assert record.scores == {} and record.test_images == 0 and record.data["data_split_sizes"]["test"] == 0
    assert record.headline == record.test_sets["ecssd"].scores
    from fcn_ablation.reporting.report import write_report

    out = write_report(results_layout.store_of_record(record.path), tmp_path / "results", permutations=200)
    df = pd.read_csv(out / "results.csv")
    assert df.test_images.tolist() == [12] and df.max_f.iloc[0] == pytest.approx(record.headline["max_f"])
    assert (out / "report.md").read_text().startswith("# Width ablation of FCN-8s: synthetic, tested on ecssd")


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["test_on=[nowhere]"], r"data set 'nowhere': no .*nowhere\.yaml; available: .*duts_te.*ecssd"),
        (["+test_data.ecssd.root=/x"], r"test_data\.ecssd: not a set of test_on \(synthetic\)"),
        (["dataset=ecssd", "dataset.root=/x"], r"dataset=ecssd is a test-only set .* test_on=\[ecssd\]"),
        (
            ["dataset=duts", "dataset.root=/x"],
            r"leaves duts no test images; test on other sets \(test_on=\[duts_te",
        ),
        (
            ["test_on=[synthetic,ecssd]"],
            r"test_on=ecssd: test_data\.ecssd\.root: not set for data set 'ecssd'; pass "
            r"test_data\.ecssd\.root=/path/to/ecssd \(or set ECSSD_ROOT\)",
        ),
        (["test_on=[hku_is]"], r"download it from https://sites\.google\.com/site/ligb86/hkuis"),
    ],
)
def test_bad_test_sets_fail_at_start_up_naming_the_setting(monkeypatch, overrides, message):
    for var in ("ECSSD_ROOT", "HKU_IS_ROOT"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ConfigError, match=message):
        validate(app_config(overrides))


def test_a_missing_test_set_stops_the_job_before_it_trains(tmp_path, cache_dir):
    over = tiny_overrides(tmp_path, cache_dir, "test_on=[synthetic,ecssd]", "+test_data.ecssd.root=/nowhere")
    with pytest.raises(
        DataError,
        match=r"^test_on=ecssd: /nowhere: data set root does not exist; pass \+\+test_data\.ecssd\.root=/path/to/ecssd "
        r"\(or set ECSSD_ROOT\)",
    ):
        run_job(tmp_path / "results" / "runs" / "job", over)
    assert not (tmp_path / "results" / "store").exists() and not (tmp_path / "results" / "checkpoints").exists()


def test_models_are_named_by_key_store_sweep_or_file(tmp_path):
    results = tmp_path / "results"
    store = results / "store" / "ds" / "k1"
    store.mkdir(parents=True)
    rec = {"experiment": "baseline", "created": "1", "test": True}
    for i in range(2):
        (store / f"baseline-seed{i}-x.json").write_text(json.dumps({**rec, "seed": i}))
    (store / "selection").mkdir()
    sweep = results / "multiruns" / "s"
    (sweep / "0_baseline_seed0").mkdir(parents=True)
    (sweep / "0_baseline_seed0" / "job.json").write_text(json.dumps({"record": "store/ds/k1/baseline-seed0-x.json"}))
    assert len(select.record_files("k1", results)) == 2
    assert len(select.record_files(str(store), results)) == 2
    assert select.record_files(str(sweep), results) == [store / "baseline-seed0-x.json"]
    assert select.record_files(str(store / "baseline-seed1-x.json"), results) == [store / "baseline-seed1-x.json"]
    assert len(select.tested_records(["k1", str(store)], results)) == 2  # each once
    with pytest.raises(DataError, match=r"k9: no table with this key under .*store"):
        select.record_files("k9", results)
    with pytest.raises(DataError, match=r"nothing/here\.json: no such record file"):
        select.record_files("nothing/here.json", results)


def test_paste_tables_mark_best_second_and_the_untold_apart():
    from fcn_ablation.reporting import paste

    def table(values, maes, sig):
        return pd.DataFrame({"experiment": ["baseline", "a", "b"], "init": ["scratch"] * 3, "reference": [True, False, False],
                             "max_f": values, "max_f_ci_low": [v - 0.01 for v in values], "max_f_ci_high": [v + 0.01 for v in values],
                             "max_f_significant": pd.array([pd.NA, *sig], dtype="boolean"),
                             "mae": maes, "mae_ci_low": maes, "mae_ci_high": maes,
                             "max_e": values, "s_measure": values})  # fmt: skip

    tables = {"set_one": table([0.90, 0.80, 0.85], [0.10, 0.30, 0.20], [True, False]),
              "two": table([0.70, 0.75, 0.60], [0.20, 0.10, 0.40], [False, True])}  # fmt: skip
    tables["set_one"] = tables["set_one"].assign(
        params_m=[1.5, 0.5, 0.75], gmacs=[2.0, 1.0, 1.5], job_ms_per_image=[10.0, 5.0, 8.0]
    )
    md = paste.markdown(tables).splitlines()
    assert md[0].startswith("| method | #Params (M) | GMACs | ms | FPS | set_one: max F | set_one: mean F |")
    # size, cost and speed of the network scored (FPS = 1000 / ms), then each set's scores
    assert (
        md[2].startswith("| baseline | 1.50 | 2.00 | 10.0 | 100 | **0.900 ± 0.010** |")
        and "<u>0.850 ± 0.010</u> ≈" in md[4]
    )
    assert "**0.100 ± 0.000**" in md[2] and "<u>0.200 ± 0.000</u>" in md[4]  # MAE: lower is better
    assert "**0.750 ± 0.010**" in md[3] and "<u>0.700 ± 0.010</u>" in md[2]
    tex = paste.latex(tables, "Ours: ± half-width; 95 %")
    assert (
        "\\textbf{0.900{\\scriptsize $\\pm$0.010}}" in tex
        and "\\underline{0.850{\\scriptsize $\\pm$0.010}} $\\approx$" in tex
    )
    assert "set\\_one" in tex and "$\\pm$ half-width; 95 \\%" in tex and tex.count("\\cmidrule") == 2


def test_paste_ranks_as_printed_and_other_methods_are_rows_with_unknown_cost():
    """Two values that read the same after rounding share a mark; another method's row (from its
    maps) is ranked with ours, its size, cost and speed unknown."""
    from fcn_ablation.reporting import paste

    df = pd.DataFrame({"experiment": ["baseline", "a", "b", "colour_contrast"], "init": ["scratch"] * 3 + ["saved maps"],
                       "reference": [True, False, False, False], "mae": [0.0612, 0.0608, 0.0700, 0.0611],
                       "max_f": [0.80, 0.70, 0.60, 0.90], "params_m": [1.0, 0.5, 0.5, float("nan")],
                       "gmacs": [2.0, 1.0, 1.0, float("nan")], "job_ms_per_image": [4.0, 2.0, 2.0, float("nan")]})  # fmt: skip
    md = paste.markdown({"s": df}).splitlines()
    rows = {line.split(" | ")[0].strip("| "): line for line in md[2:]}
    # MAE 0.0612, 0.0608 and 0.0611 all print as 0.061: all three best, none second
    assert (
        all("**0.061**" in rows[r] for r in ("baseline", "a", "colour_contrast"))
        and "<u>" not in rows["b"].split(" | ")[-1]
    )
    assert rows["colour_contrast"].startswith("| colour_contrast | - | - | - | - | **0.900** |")
    assert "<u>0.800</u>" in rows["baseline"] and "| 0.700 |" in rows["a"]  # ranked with the method: 0.9 best


def test_another_set_is_scored_whole_unless_its_split_is_named_and_the_hint_composes():
    """A benchmark set tested after another set's training is scored whole, as papers score it
    (DUT-OMRON's own file splits it 80/10/10 for training on it); the hint's `++test_data...`
    override is one Hydra takes whether or not the key exists."""
    from fcn_ablation.config.datasets import section_of_test_set

    train = app_config([]).dataset
    whole = section_of_test_set(train, "dut_omron")
    assert (whole.split.train, whole.split.val, whole.split.test) == (0.0, 0.0, 1.0)
    own = section_of_test_set(train, "dut_omron", {"split": {"train": 0.8, "val": 0.1, "test": 0.1}})
    assert own.split.test == pytest.approx(0.1)
    assert section_of_test_set(train, train.name) is train  # its own set: its own test split
    cfg = app_config(["test_on=[ecssd]", "++test_data.ecssd.root=/data/ECSSD"])
    assert cfg.test_data.ecssd.root == "/data/ECSSD"
    cfg = app_config(["test_on=[ecssd]", "+test_data.ecssd.root=/a", "++test_data.ecssd.root=/b"])
    assert cfg.test_data.ecssd.root == "/b"


def test_two_fractions_of_one_seed_are_two_tests_though_their_files_hash_alike(tmp_path):
    """A split is one seed's permutation cut in three: the files of 70/10/20 and of test-only
    concatenate to the same bytes, so their hash agrees; `split_id` tells the two tests apart."""
    from fcn_ablation.data import splits

    names = [f"img{i}" for i in range(20)]
    for fractions in ((0.7, 0.1, 0.2), (0.0, 0.0, 1.0)):
        splits.load_or_write_splits(splits.split_dir(tmp_path, fractions, 0), names, fractions, 0, "error")
    own, whole = splits.split_dir(tmp_path, (0.7, 0.1, 0.2), 0), splits.split_dir(tmp_path, (0.0, 0.0, 1.0), 0)
    summaries = [{"split_hash": splits.splits_hash(d), "split_dir": str(d)} for d in (own, whole)]
    assert summaries[0]["split_hash"] == summaries[1]["split_hash"]  # the permutation is cut, not redrawn
    assert splits.split_id(summaries[0]) != splits.split_id(summaries[1])
    assert splits.split_id(summaries[0]).endswith(own.name) and splits.split_id({"split_hash": None}) is None
