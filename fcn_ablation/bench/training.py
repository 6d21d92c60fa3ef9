"""`fcn-ablation-bench-train [OVERRIDE ...]`: how fast the job's training steps run, and
how much of that is Lightning's.

It composes the main config (`conf/bench_train.yaml` includes `config.yaml`), so every group and
key of a job applies: experiment, dataset, recipe, optimizer, trainer (its precision), train_speed,
model.width_multiplier. It then times training steps of the real job path and of a plain PyTorch
loop in interleaved rounds (`bench.train_rounds`), and writes, under
`results/bench/<device>/train-<settings>/`:

- `bench.csv`: one row per path (lightning, plain): images/s and ms/step (medians over rounds,
  bootstrap 95 % CIs), `lightning_vs_plain` (the median of per-round ratios of Lightning's images/s
  to the plain loop's, with its CI), the share of wall time spent waiting for data, peak memory,
  the achieved training FLOP/s and that over the same rounds' dense matmul, compilations made,
  and what `preset=paper`'s sweep (9 experiments x 5 seeds x 100,000 steps) costs at this step time;
- `bench.md` (the same, in words), `raw.csv` (every round of every path), `bench.json`
  (device, load, matmul spread) and `config.yaml` (the exact composed config).

Speed does not depend on the weights: both paths start from the same random weights (no data set
of weights is read), on the configured data set's training batches in the same order.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from omegaconf import OmegaConf
from tqdm.auto import tqdm

from fcn_ablation import results_layout
from fcn_ablation.bench.header import BenchHeader
from fcn_ablation.bench.load import load_note, under_load
from fcn_ablation.bench.train_rounds import AUTOCAST, FP32, LIGHTNING, PLAIN, matmul_dtype
from fcn_ablation.config.checks import check_rounds
from fcn_ablation.config.schema import TrainBenchConfig
from fcn_ablation.errors import ConfigError
from fcn_ablation.evaluation.stats import bootstrap_median_ci
from fcn_ablation.evaluation.timing import device_label, device_slug
from fcn_ablation.files import atomic_write_text, save_yaml, write_csv
from fcn_ablation.markdown import markdown_table

# What the paper's sweep asks of a device: `preset=paper`, Table 2's nine rows, five seeds each.
PAPER_JOBS, PAPER_STEPS = 9 * 5, 100_000


def ceiling_dtype(device: torch.device, precision: str) -> torch.dtype:
    """The dtype of the matmul a training step is compared with: bf16 on a GPU (the chip's dense
    rate, whatever the step's precision: how much of the chip a step uses), the step's own
    precision's on a CPU (whose bf16 may be emulated)."""
    return torch.bfloat16 if torch.device(device).type == "cuda" else matmul_dtype(precision)


def timed_job(cfg) -> dict:
    """What the benchmark times, read once from the composed config: a row of its table starts with it."""
    return {"experiment": cfg.experiment.name, "dataset": cfg.dataset.name, "recipe": str(cfg.recipe),
            "width_multiplier": float(cfg.model.width_multiplier), "precision": str(cfg.trainer.precision),
            "batch_size": int(cfg.dataset.batch_size)}  # fmt: skip


def settings_slug(what: dict, s) -> str:
    """`train-baseline-synthetic_native-paper-w1-bf16-mixed-cl-b1`: what was timed (`timed_job`: the
    experiment, data set, recipe, width, precision, batch; `s`: every fast path of the `train_speed`
    section that is on), as a folder name: two benchmarks of different steps never share a folder."""
    flags = [f for f, on in (("tf32", s.tf32), ("cl", s.channels_last), ("zeros", s.skip_zeros),
                             ("fused", s.fused_optimizer), ("compile", s.compile)) if on]  # fmt: skip
    flags += [s.compile_mode] if s.compile and s.compile_mode != "default" else []
    flags += [f"bucket{s.size_bucket}"] if s.size_bucket else []
    return results_layout.bench_settings("train", what["experiment"], what["dataset"], what.get("recipe", ""),
                                         f"w{what['width_multiplier']:g}", what["precision"], *flags,
                                         f"b{what['batch_size']}")  # fmt: skip


def check(cfg) -> TrainBenchConfig:
    b = cfg.bench_train
    check_rounds(b.rounds, b.warmup, "bench_train")
    if b.steps < 1 or (b.matmul_size is not None and b.matmul_size < 1) or b.profile_steps < 0:
        raise ConfigError(
            f"bench_train: rounds >= 2, steps >= 1, warmup >= 0, matmul_size >= 1 and profile_steps >= 0 are needed "
            f"(got steps={b.steps}, matmul_size={b.matmul_size}, profile_steps={b.profile_steps})"
        )
    if str(cfg.trainer.precision) not in (*FP32, *AUTOCAST):
        raise ConfigError(
            f"trainer.precision={cfg.trainer.precision}: the training benchmark's plain loop runs 32-true, bf16-mixed "
            "or 16-mixed"
        )
    return b


def bench_train(cfg, progress: bool = True) -> Path:
    """Run the benchmark of `cfg` (the composed `bench_train` config); returns its folder."""
    import pytorch_lightning as pl

    from fcn_ablation.bench.inference import OtherLoad, ceiling_size
    from fcn_ablation.bench.profile import StepProfile
    from fcn_ablation.bench.train_rounds import PlainLoop, Rounds, train_flop
    from fcn_ablation.config.checks import validate
    from fcn_ablation.data.datamodule import SaliencyDataModule
    from fcn_ablation.machine import on_cuda, torch_device
    from fcn_ablation.models.fast import set_tf32
    from fcn_ablation.models.fcn8s import FCN8s
    from fcn_ablation.training.cpu_budget import apply_cpu_budget
    from fcn_ablation.training.job import check_trainer, make_module, optimizer_config, plan_job
    from fcn_ablation.training.loggers import make_logger, settle_mode
    from fcn_ablation.training.signals import cluster_plugins

    validate(cfg)
    check_trainer(cfg.trainer)
    b = check(cfg)
    settle_mode(cfg.logger)
    _, cfg.dataset.num_workers = apply_cpu_budget(cfg.dataset.num_workers)  # the record says what ran
    device = torch_device("cuda" if on_cuda(cfg.trainer.accelerator) else "cpu")
    if device.type == "cuda":
        set_tf32(cfg.train_speed.tf32)
    data = SaliencyDataModule.for_trainer(
        cfg.dataset, cfg.paths.cache_dir, cfg.trainer.accelerator, cfg.trainer.enable_progress_bar
    )
    data.prepare_data()
    data.setup()
    job = plan_job(cfg)
    widths = job.widths
    optimizer = optimizer_config(cfg.optimizer, job.start)

    def module():
        torch.manual_seed(b.seed)
        m = cfg.model
        net = FCN8s(widths, m.num_classes, m.dropout, m.learn_upsampling, m.at_once_scaling)
        return make_module(net, optimizer, speed=cfg.train_speed)

    total = b.warmup + b.rounds * b.steps
    plain = PlainLoop(module(), data.train_dataloader(), data.normalise, device, str(cfg.trainer.precision), total)
    n = b.matmul_size or ceiling_size(device)
    mats = [torch.randn(n, n, device=device, dtype=ceiling_dtype(device, cfg.trainer.precision)) for _ in range(2)]
    bar = tqdm(total=b.rounds, desc="timing rounds", disable=not progress)
    rounds = Rounds(plain, rounds=b.rounds, steps=b.steps, warmup=b.warmup, device=device,
                    flop_of=lambda shape: train_flop(widths, shape, cfg.train_speed.size_bucket, cfg.model.num_classes),
                    matmul=lambda: mats[0] @ mats[1], progress=bar.update)  # fmt: skip
    profile = StepProfile(total, b.profile_steps, device)
    trainer_args = {**OmegaConf.to_container(cfg.trainer), "max_steps": total + b.profile_steps, "max_epochs": -1,
                    "limit_val_batches": 0, "num_sanity_val_steps": 0, "enable_progress_bar": False}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench_train-") as tmp, OtherLoad() as load:
        logger = make_logger(cfg, Path(tmp), None)
        trainer = pl.Trainer(**trainer_args, logger=logger if logger is not None else False, default_root_dir=tmp,
                             enable_checkpointing=False, callbacks=[rounds, profile], plugins=cluster_plugins())  # fmt: skip
        trainer.fit(module(), datamodule=data)
        if logger is not None and hasattr(logger, "experiment") and hasattr(logger.experiment, "finish"):
            logger.experiment.finish()
    bar.close()
    if len([r for r in rounds.logs if r.path == LIGHTNING]) != b.rounds:
        raise ConfigError(
            f"bench_train: Lightning stopped after {trainer.global_step} of {total} steps; a trainer.* setting "
            "(max_time?) ended it early"
        )
    raw = pd.DataFrame([r.row() for r in rounds.logs]).sort_values(["round", "position"])
    mm = pd.Series(rounds.matmul_s)
    spread, median = float(mm.max() / mm.min()), float(mm.median())
    header = BenchHeader(
        device=device_label(device), device_slug=device_slug(device, torch.get_num_threads()), torch=torch.__version__,
        settings=settings_slug(timed_job(cfg), cfg.train_speed), rounds=b.rounds, created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        other_load=load.fraction, matmul_median_s=median, matmul_spread=spread,
        under_load=under_load(load.fraction, spread, median), steps=b.steps, warmup=b.warmup, matmul_size=n,
        matmul_dtype=str(mats[0].dtype), compilations=rounds.compilations,
        loader_workers=int(data.workers),
    )  # fmt: skip
    table = summarise(raw, header, timed_job(cfg), seed=b.seed)
    out = results_layout.in_bench_root(b.out_dir, header.device_slug, header.settings)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(raw, out / results_layout.RAW_CSV)
    write_csv(table, out / results_layout.BENCH_CSV)
    header.write(out)
    notes = ""
    if profile.trace is not None:
        from fcn_ablation.bench import profile as profiling

        steps = profiling.write(profile, out, header.settings, header.device).median(numeric_only=True)
        notes = (f"- Profile ({b.profile_steps} more steps of Lightning's, `{results_layout.PROFILE_MD}`): per step "
                    f"{steps.wall_ms:.2f} ms, the device busy {steps.busy_ms:.2f} ms ({100 * steps.busy_share:.0f} %), "
                    f"idle {steps.idle_ms:.2f} ms.\n")  # fmt: skip
    if cfg.train_speed.skip_zeros:
        notes += ("- train_speed.skip_zeros: the steps skip the work on known zeros, but GFLOP/s counts the whole "
                     "network's FLOPs: `GFLOP/s` and `of matmul` overstate the arithmetic done (compare them without it).\n")  # fmt: skip
    atomic_write_text(out / results_layout.BENCH_MD, markdown(table, header) + notes)
    save_yaml(cfg, out / results_layout.CONFIG_YAML)
    return out


def summarise(raw: pd.DataFrame, header: BenchHeader, what: dict, seed: int = 0) -> pd.DataFrame:
    """One row per path from the rounds of `raw`: the median ms/step with its bootstrap 95 % CI, and
    images/s from that same statistic (images per step / ms per step, so the two never disagree);
    the per-round ratio of Lightning's images/s to the plain loop's, from the same rounds."""
    rng = np.random.default_rng(seed)
    raw = raw.assign(images_per_s=raw.images / raw.seconds, step_ms=1000 * raw.seconds / raw.steps)
    wide = raw.pivot(index="round", columns="path", values="images_per_s")
    ratio = (wide[LIGHTNING] / wide[PLAIN]).to_numpy()
    rlo, rhi = bootstrap_median_ci(ratio, rng)
    ceiling = 2 * header.matmul_size**3 / header.matmul_median_s
    rows = []
    for path in (LIGHTNING, PLAIN):
        r = raw[raw.path == path]
        ms = r.step_ms.to_numpy()
        flop_s = float(np.median(r.flop / r.seconds))
        step_s = float(np.median(ms)) / 1000
        ms_lo, ms_hi = bootstrap_median_ci(ms, rng)
        per_step = float(r.images.sum() / r.steps.sum())  # images a step trains on
        rows.append({
            "path": path, "experiment": what["experiment"], "dataset": what["dataset"], "recipe": what.get("recipe"),
            "width_multiplier": what["width_multiplier"], "precision": what["precision"],
            "train_speed": header.settings, "batch_size": what["batch_size"], "rounds": len(r),
            "steps_per_round": int(r.steps.iloc[0]), "images_per_s": per_step / step_s,
            "images_per_s_ci_low": 1000 * per_step / ms_hi, "images_per_s_ci_high": 1000 * per_step / ms_lo,
            "step_ms": 1000 * step_s, "step_ms_ci_low": ms_lo, "step_ms_ci_high": ms_hi,
            "lightning_vs_plain": float(np.median(ratio)), "lightning_vs_plain_ci_low": rlo,
            "lightning_vs_plain_ci_high": rhi, "data_wait_share": float((r.data_wait_s.sum()) / r.seconds.sum()),
            "peak_mem_mb": None if r.peak_mem_mb.isna().all() else float(r.peak_mem_mb.max()),
            "train_gflop_s": flop_s / 1e9, "matmul_gflop_s": ceiling / 1e9, "train_flops_vs_matmul": flop_s / ceiling,
            "compilations": int(header.compilations[path]),
            "paper_sweep_device_hours": step_s * PAPER_STEPS * PAPER_JOBS / 3600,
        })  # fmt: skip
    return pd.DataFrame(rows)


def markdown(t: pd.DataFrame, header: BenchHeader) -> str:
    cols = {"path": "path", "images_per_s": "images/s", "step_ms": "ms/step", "step_ms_ci_low": "95% CI low",
            "step_ms_ci_high": "95% CI high", "data_wait_share": "data wait", "peak_mem_mb": "peak MB",
            "train_gflop_s": "GFLOP/s", "train_flops_vs_matmul": "of matmul", "compilations": "compilations",
            "paper_sweep_device_hours": "paper sweep (device-h)"}  # fmt: skip
    view = t[list(cols)].rename(columns=cols)
    lt = t.set_index("path").loc[LIGHTNING]
    lines = [
        f"# Training benchmark: {header.device}",
        "",
        f"torch {header.torch}, `{header.settings}` (experiment, data set, recipe, width multiplier, "
        f"precision, fast paths, batch), {header.rounds} interleaved rounds of {header.steps} steps per path after "
        f"{header.warmup} untimed ones, {header.loader_workers} loader workers.",
        "",
        markdown_table(view, index=False, floatfmt=".4g"),
        "",
        f"- **Lightning / plain loop: {lt.lightning_vs_plain:.3f}** (95 % CI {lt.lightning_vs_plain_ci_low:.3f} to "
        f"{lt.lightning_vs_plain_ci_high:.3f}): the median over rounds of Lightning's images/s over the plain loop's "
        "in the same round; 1 means no overhead.",
        "- ms/step: median over rounds of the round's wall time per step, loading included, with the bootstrap 95 % CI.",
        "- data wait: share of wall time from the end of one step's update to the start of the next forward "
        "(loader, transfer, normalisation; in Lightning also its between-step bookkeeping and logging).",
        "- GFLOP/s: training FLOPs = 3 x the forward's multiply-adds x 2 per image (at the size computed, after any "
        f"bucket padding) over wall time; `of matmul`: that over a dense {header.matmul_size}-square "
        f"{header.matmul_dtype.replace('torch.', '')} matmul timed in the same rounds.",
        "- peak MB: CUDA's max allocated on a GPU; on a CPU the process's peak resident set during the path's rounds "
        "(both paths' weights are resident; loader workers are other processes).",
        f"- paper sweep: `preset=paper`'s {PAPER_JOBS} jobs x {PAPER_STEPS:,} steps at this ms/step, training only "
        "(validation, tests and timing passes excluded; variants thinner than this experiment cost less).",
        f"- {load_note(header)}",
    ]
    return "\n".join(lines) + "\n"
