"""The detection-time function times forward passes only, after warm-up, in eval mode."""

import pytest
import torch

from fcn_ablation.evaluation.timing import time_forward

from helpers import app_config


class Counting(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.calls, self.modes, self.grad = 0, set(), set()
        self.lin = torch.nn.Linear(1, 1)

    def forward(self, x):
        self.calls += 1
        self.modes.add(self.training)
        self.grad.add(torch.is_grad_enabled())
        return x


def test_counts_warmup_and_timed_passes_in_eval_and_inference_mode():
    m = Counting().train()
    t = time_forward(m, [torch.zeros(3, 4, 4) for _ in range(7)], "cpu", warmup=3)
    assert m.calls == 10 and t.n_images == 7
    assert m.modes == {False} and m.grad == {False}
    assert m.training  # mode restored
    assert t.total_s > 0 and abs(t.ms_per_image - 1000 * t.total_s / 7) < 1e-9


def test_with_options_that_build_per_size_every_size_is_warmed_up_before_the_clock_runs():
    """A compiled forward, CUDA graphs and cuDNN's autotuner build or tune once per input size: a
    size first met inside the timed passes would count that work as detection time."""
    from fcn_ablation.config.schema import SpeedConfig

    sizes = [torch.zeros(3, 4, 4 + i % 3) for i in range(7)]  # three sizes
    plain, tuned = Counting(), Counting()
    time_forward(plain, sizes, "cpu", warmup=1)
    time_forward(tuned, sizes, "cpu", warmup=1, opts=SpeedConfig(cudnn_benchmark=True))
    assert plain.calls == 1 + 7 and tuned.calls == 1 + 3 + 7


def _bench_result(root, name, times, **options):
    """A benchmark folder as `fcn-ablation-bench` writes it, with chosen baseline times."""
    from omegaconf import OmegaConf

    from fcn_ablation.config.schema import BenchConfig
    from fcn_ablation.evaluation.timing import device_slug

    folder = root / "bench" / device_slug("cpu") / name
    folder.mkdir(parents=True)
    OmegaConf.save(OmegaConf.structured(BenchConfig(**options)), folder / "config.yaml")
    (folder / "bench.csv").write_text("variant,ms_per_image\n" + "".join(f"{v},{ms}\n" for v, ms in times.items()))
    return folder / "bench.csv"


def test_a_run_times_with_the_fastest_benchmarked_options_of_its_device(tmp_path, compose_cfg):
    from fcn_ablation.config.schema import SpeedConfig
    from fcn_ablation.evaluation.timing import best_benchmarked
    from fcn_ablation.training.job import speed_options

    results = tmp_path / "results"
    _bench_result(results, "eager", {"baseline": 30.0, "a": 9.0})
    layout = _bench_result(results, "cl", {"baseline": 20.0, "a": 7.0}, channels_last=True)
    _bench_result(results, "compiled-but-bf16", {"baseline": 5.0}, channels_last=True, compile=True, precision="bf16")
    _bench_result(results, "compiled-other-width", {"baseline": 5.0}, compile=True, width_multiplier=0.5)
    _bench_result(results, "compiled-other-size", {"baseline": 5.0}, compile=True, height=100)
    _bench_result(results, "compiled-batch-4", {"baseline": 5.0}, compile=True, batch_size=4)
    _bench_result(results, "no-baseline", {"a": 1.0}, compile=True)
    tf32 = _bench_result(results, "tf32", {"baseline": 4.0}, tf32=True)  # TF32 changes the arithmetic: never borrowed
    (results / "bench" / "notes.txt").write_text("not a result")
    (layout.parents[1] / "broken").mkdir()
    (layout.parents[1] / "broken" / "config.yaml").write_text(": not yaml :")

    assert best_benchmarked(results / "bench", "cpu", "fp32", 300, 400, 1.0) == (
        SpeedConfig(channels_last=True),
        layout,
    )
    assert best_benchmarked(results / "bench", "cpu", "fp16", 300, 400, 1.0) is None
    assert best_benchmarked(results / "bench", "cpu", "fp32", 300, 400, 1.0, tf32=True) == (
        SpeedConfig(tf32=True),
        tf32,
    )

    def options(*overrides, device="cpu"):
        cfg = compose_cfg([f"paths.results_dir={results}", "model.width_multiplier=1.0", *overrides])
        return speed_options(cfg.timing, results / "bench", (cfg.cost.height, cfg.cost.width),
                             cfg.model.width_multiplier, device)  # fmt: skip

    assert options(device=torch.device("cpu")) == (SpeedConfig(), "config")
    chosen = options("timing.best_benchmarked=true", device=torch.device("cpu"))
    assert chosen == (SpeedConfig(channels_last=True), str(layout))
    thin = options("timing.best_benchmarked=true", "model.width_multiplier=0.25")
    assert thin == (SpeedConfig(), "config")  # nothing measured at that width: the configured options


def test_a_compiled_best_is_timed_eagerly_over_images_of_many_sizes(tmp_path, compose_cfg):
    """A compiled graph per image size would cost tens of seconds each: over a native test set the
    benchmark's best options are kept, compilation dropped, and the record says so."""
    from fcn_ablation.config.schema import SpeedConfig
    from fcn_ablation.training.job import speed_options

    results = tmp_path / "results"
    _bench_result(results, "eager", {"baseline": 30.0})
    compiled = _bench_result(results, "cl-compile", {"baseline": 10.0}, channels_last=True, compile=True)
    cfg = compose_cfg([f"paths.results_dir={results}", "model.width_multiplier=1.0", "timing.best_benchmarked=true"])
    args = (cfg.timing, results / "bench", (cfg.cost.height, cfg.cost.width), 1.0, "cpu")
    assert speed_options(*args, sizes=1) == (SpeedConfig(channels_last=True, compile=True), str(compiled))
    assert speed_options(*args, sizes=3) == (SpeedConfig(channels_last=True), f"{compiled} (eager: 3 image sizes)")


@pytest.mark.slow
def test_seed_timing_and_report_options_are_row_attributes_the_split_is_part_of_the_key():
    from fcn_ablation.config.settings_key import settings_key

    def key(*overrides):
        return settings_key(app_config(overrides), split_hash)

    split_hash = "0123456789abcdef"
    # A row is a distribution over seeds; the per-job timing pass and how reports are drawn change no row.
    for override in (
        "seed=3",
        "timing.best_benchmarked=true",
        "timing.channels_last=true",
        "report.rounds=3",
        "init=scratch",
        "experiment=a",
    ):
        assert key(override) == key(), override
    assert key("dataset.synthetic.size=32") != key() and key("model.width_multiplier=0.5") != key()
    base = key()
    split_hash = "fedcba9876543210"  # the same settings tested on other images: another table
    assert key() != base


@pytest.mark.parametrize(
    "key, overrides",
    [
        ("c264f249c6", []),  # today's defaults
        (
            "b34fc57baf",
            ["trainer.max_epochs=7", "dataset.batch_size=4", "optimizer.lr=1e-3"],
        ),  # the defaults until 2026-11-30
    ],
)
def test_the_committed_tables_keep_their_settings_key(key, overrides):
    """The committed reports live under their settings keys: a new setting at its neutral value, or
    one that says where files come from, must not move them."""
    import json
    from pathlib import Path

    from fcn_ablation.config.settings_key import settings_key

    store = Path(__file__).resolve().parents[1] / "results" / "published" / "store" / "synthetic" / key
    split_hash = json.loads(next(store.glob("baseline-*.json")).read_text())["split_hash"]
    cfg = app_config(["dataset.num_workers=0", "trainer.enable_progress_bar=false", *overrides])  # the sweep scripts'
    assert settings_key(cfg, split_hash) == key
    cfg.optimizer.lr_by_start = {"imagenet": 1e-10}  # a new setting, used: a new table
    assert settings_key(cfg, split_hash) != key


def test_every_committed_record_keys_to_its_table_in_todays_optimiser_form():
    """Records filed before the optimiser named its class (`optimizer.name: adamw|sgd`, with
    both classes' arguments in every section): their configs, rewritten as today's sections
    (`_target_` and the class's own arguments), hash to the key they were filed under."""
    import json
    from pathlib import Path

    from omegaconf import OmegaConf

    from fcn_ablation.config.settings_key import settings_key

    classes = {"adamw": ("torch.optim.AdamW", "betas"), "sgd": ("torch.optim.SGD", "momentum")}
    checked = 0
    for path in sorted((Path(__file__).resolve().parents[1] / "results").glob("**/store/**/*.json")):
        record = json.loads(path.read_text())
        if "evaluation_of" in record or "maps" in record:
            continue  # a later evaluation of a record, or another method scored from its maps (`store.tested`)
        config = record["config"]
        if "name" not in config["optimizer"]:
            continue  # written in today's form
        opt = dict(config["optimizer"])
        target, own = classes[opt.pop("name")]
        opt.pop({"betas", "momentum"}.difference([own]).pop())
        config["optimizer"] = {"_target_": target, **opt}
        assert settings_key(OmegaConf.create(config), record["split_hash"]) == record["settings_key"], path
        checked += 1
    assert checked >= 100
    # another class, or an argument the first schema had no key for: another table
    base = settings_key(app_config(["optimizer=sgd"]), "s")
    assert settings_key(app_config(["optimizer=sgd", "optimizer.lr=1"]), "s") == settings_key(
        app_config(["optimizer=sgd", "optimizer.lr=1.0"]), "s"
    )
    assert settings_key(app_config(["optimizer=sgd", "+optimizer.nesterov=true"]), "s") != base
    assert settings_key(app_config(["optimizer=sgd", "optimizer._target_=torch.optim.ASGD"]), "s") != base
