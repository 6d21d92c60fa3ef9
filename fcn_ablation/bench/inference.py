"""`fcn-ablation-bench`: how fast every variant detects, and how close to the device's limit.

Detection speed does not depend on the weights, so no data set and no training are needed: each
experiment's network is built at the configured width and timed on a random input of the
configured size. The measurement is meant to be trusted:

- the forward pass goes through `evaluation.timing.prepare`/`evaluation.timing.timed`, the path the training sweep's
  detection time takes (eval and inference mode, warm-up, device synchronisation);
- variants are interleaved: every round times each variant once, rounds rotate the order
  (A B C, B C A, C A B, ...), so drift of a shared machine hits all of them alike and no variant
  always runs first;
- a dense matrix product of the same precision runs in every round too: its GFLOP/s is the
  practical ceiling each variant's achieved GFLOP/s is compared with;
- per variant: median, quartiles and a bootstrap 95 % confidence interval of the median; ratios
  to the baseline are taken round by round (same conditions) and then summarised.
"""

from __future__ import annotations

import dataclasses
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
from fcn_ablation.config.checks import check_rounds
from fcn_ablation.config.rows import BASELINE
from fcn_ablation.config.schema import SpeedConfig
from fcn_ablation.errors import ConfigError
from fcn_ablation.evaluation.stats import bootstrap_median_ci
from fcn_ablation.evaluation.timing import device_label, device_slug, dtype_of, prepare, timed
from fcn_ablation.files import atomic_write_text, pyplot, save_figure, save_yaml, write_csv
from fcn_ablation.machine import torch_device
from fcn_ablation.markdown import markdown_table
from fcn_ablation.models.cost import model_cost
from fcn_ablation.models.fcn8s import FCN8s
from fcn_ablation.store.filing import table_scales
from fcn_ablation.store.paper import paper_time_ratios
from fcn_ablation.store.record import Record

MATMUL = "matmul"
CUDA_CEILING = 8192  # the matmul size that reaches a datacentre GPU's dense rate


def experiment_widths(names: list[str], multiplier: float) -> dict[str, dict[str, int]]:
    """Widths of each named experiment (`conf/experiment/<name>.yaml`); all of them when empty."""
    from fcn_ablation.config import experiments

    return {name: experiments.widths(name, multiplier) for name in (list(names) or experiments.names())}


def rotated(variants: list[str], round_index: int) -> list[str]:
    k = round_index % len(variants)
    return variants[k:] + variants[:k]


def run_rounds(measures: dict, rounds: int, progress: bool = True) -> pd.DataFrame:
    """Call every measure once per round, in rotated order; one row per call (seconds)."""
    names = list(measures)
    rows = []
    for r in tqdm(range(rounds), desc="timing rounds", disable=not progress):
        for pos, name in enumerate(rotated(names, r)):
            rows.append({"round": r, "position": pos, "variant": name, "seconds": measures[name]()})
    return pd.DataFrame(rows)


def summarise(raw: pd.DataFrame, baseline: str = BASELINE, seed: int = 0) -> pd.DataFrame:
    """Per variant: median seconds, quartiles, bootstrap 95 % CI of the median, and the ratio to
    `baseline` computed within each round, then summarised the same way."""
    rng = np.random.default_rng(seed)
    wide = raw.pivot(index="round", columns="variant", values="seconds")
    rows = []
    for name in raw.variant.drop_duplicates():
        s = wide[name].to_numpy()
        lo, hi = bootstrap_median_ci(s, rng)
        row = {"variant": name, "rounds": len(s), "median_s": float(np.median(s)), "q1_s": float(np.quantile(s, 0.25)),
               "q3_s": float(np.quantile(s, 0.75)), "ci_low_s": lo, "ci_high_s": hi}  # fmt: skip
        if baseline in wide:
            ratios = s / wide[baseline].to_numpy()
            rlo, rhi = bootstrap_median_ci(ratios, rng)
            row.update(time_ratio=float(np.median(ratios)), time_ratio_ci_low=rlo, time_ratio_ci_high=rhi)
        rows.append(row)
    return pd.DataFrame(rows)


def bench(cfg, progress: bool = True) -> list[Path]:
    """`fcn-ablation-bench`: every experiment (or `cfg.experiments`) at `width_multiplier`, under the
    speed setting of `cfg`'s keys, or under each of `cfg.speeds`. Returns the benchmarks' folders
    (the command then sets several side by side: `reporting.speed_table`)."""
    from fcn_ablation.config.speeds import SpeedSetting, settings_for

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = torch_device(cfg.device)
    widths = experiment_widths(cfg.experiments, cfg.width_multiplier)
    settings = (
        settings_for(cfg.speeds, device.type) if cfg.speeds else [SpeedSetting(SpeedConfig.of(cfg), cfg.batch_size)]
    )
    return [_bench_one(cfg, widths, device, s, progress) for s in settings]


def _bench_one(cfg, widths: dict, device: torch.device, setting, progress: bool) -> Path:
    """One benchmark of `widths` under `setting` (a `config.speeds.SpeedSetting`), in its folder
    under `cfg.out_dir`, with the config that names exactly that setting beside it."""
    opts = setting.opts
    slug = results_layout.bench_settings(
        opts.slug(),
        f"b{setting.batch_size}",
        f"{cfg.width}x{cfg.height}",
        f"w{cfg.width_multiplier:g}",
        results_layout.variants_part(list(cfg.experiments)),
    )
    out = results_layout.in_bench_root(cfg.out_dir, device_slug(device, torch.get_num_threads()), slug)
    run_bench(widths, out, device=device, opts=opts, height=cfg.height, width=cfg.width, batch_size=setting.batch_size,
              rounds=cfg.rounds, warmup=cfg.warmup, matmul_size=cfg.matmul_size or ceiling_size(device), seed=cfg.seed,
              num_classes=cfg.num_classes, progress=progress, settings=slug)  # fmt: skip
    saved = OmegaConf.merge(cfg, {**dataclasses.asdict(opts), "batch_size": setting.batch_size, "speeds": []})
    save_yaml(saved, out / results_layout.CONFIG_YAML)
    return out


def run_bench(widths: dict[str, dict[str, int]], out: Path, *, device, opts: SpeedConfig, height: int, width: int,
              batch_size: int = 1, rounds: int = 10, warmup: int = 2, matmul_size: int = 2048, seed: int = 0,
              num_classes: int = 2, progress: bool = True, settings: str = "") -> Path:  # fmt: skip
    """Time the networks of `widths` ({variant: {layer: channels}}, the baseline first) and the
    matmul ceiling in interleaved rounds; write `raw.csv`, `bench.csv`, `bench.md`, `bench.json`
    (device, load, the widths timed) and a plot into `out`."""
    check_rounds(rounds, warmup, "bench")
    if batch_size < 1 or min(height, width) < 1:
        raise ConfigError(
            f"bench: batch_size >= 1 and a positive height/width are needed (got {batch_size}, {height}x{width})"
        )
    device = torch.device(device)
    torch.manual_seed(seed)
    x = torch.randn(batch_size, 3, height, width, device=device)
    measures, cost = {}, {}
    for name, w in tqdm(widths.items(), desc="building and warming up", disable=not progress):
        forward = prepare(FCN8s(w, num_classes), device, opts)
        for _ in range(warmup):
            forward(x)
        measures[name] = lambda f=forward: timed(lambda: f(x), device)
        cost[name] = model_cost(w, height, width, num_classes)
    n = matmul_size
    a, b = (torch.randn(n, n, device=device, dtype=dtype_of(opts)) for _ in range(2))
    for _ in range(max(1, warmup)):
        a @ b
    measures[MATMUL] = lambda: timed(lambda: a @ b, device)

    with OtherLoad() as load:
        raw = run_rounds(measures, rounds, progress)
    table = summarise(raw, seed=seed)
    table = _add_cost_columns(table, cost, batch_size, 2 * n**3)
    mm = raw[raw.variant == MATMUL].seconds
    spread, median = float(mm.max() / mm.min()), float(mm.median())
    header = BenchHeader(
        device=device_label(device), device_slug=device_slug(device, torch.get_num_threads()), torch=torch.__version__,
        settings=settings or results_layout.bench_settings(opts.slug(), f"b{batch_size}", f"{width}x{height}"),
        rounds=rounds, created=datetime.now(timezone.utc).isoformat(timespec="seconds"), other_load=load.fraction,
        matmul_median_s=median, matmul_spread=spread, under_load=under_load(load.fraction, spread, median),
        speed=opts.slug(), height=height, width=width, batch_size=batch_size, widths=widths,
    )  # fmt: skip
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(raw, out / results_layout.RAW_CSV)
    write_csv(table, out / results_layout.BENCH_CSV)
    header.write(out)
    atomic_write_text(out / results_layout.BENCH_MD, markdown(table, header, batch_size))
    plot(table, out / results_layout.TIME_VS_MACS_PNG, header.device)
    return out


class OtherLoad:
    """CPU time other processes took while the block ran, as a fraction of the machine's
    (Linux `/proc`; None elsewhere): the benchmark says when its machine was not quiet."""

    def __enter__(self):
        self.start = self._read()
        self.fraction = None
        return self

    def __exit__(self, *exc):
        end = self._read()
        if self.start and end:
            busy = (end[0] - self.start[0]) - (end[1] - self.start[1])
            total = end[2] - self.start[2]
            self.fraction = max(0.0, busy / total) if total > 0 else None
        return False

    @staticmethod
    def _read():
        try:
            cpu = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
            own = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
            own_ticks = int(own[11]) + int(own[12])  # utime + stime of this process, all threads
            idle = cpu[3] + (cpu[4] if len(cpu) > 4 else 0)
            total = sum(cpu[:8])
            return total - idle, own_ticks, total
        except (OSError, ValueError, IndexError):
            return None


def _add_cost_columns(table: pd.DataFrame, cost: dict, batch: int, matmul_flop: int) -> pd.DataFrame:
    t = table.set_index("variant")
    ceiling = matmul_flop / t.loc[MATMUL, "median_s"] / 1e9
    t["params"] = pd.Series({k: v[0] for k, v in cost.items()})
    t["gmacs"] = pd.Series({k: v[1] / 1e9 for k, v in cost.items()})
    t["ms_per_image"] = 1000 * t.median_s / batch
    t["images_per_s"] = batch / t.median_s
    t["gflop_s"] = 2 * t.gmacs * batch / t.median_s
    t.loc[MATMUL, "gflop_s"] = ceiling
    t["fraction_of_matmul"] = t.gflop_s / ceiling
    if BASELINE in t.index:
        t["macs_ratio"] = t.gmacs / t.loc[BASELINE, "gmacs"]
        t["ratio_gap"] = t.time_ratio - t.macs_ratio
        t.loc[MATMUL, ["time_ratio", "time_ratio_ci_low", "time_ratio_ci_high"]] = np.nan
    paper = paper_time_ratios()
    t["paper_time_ratio"] = pd.Series(paper)
    return t.reset_index()


def markdown(t: pd.DataFrame, header: BenchHeader, batch: int = 1) -> str:
    cols = {"variant": "variant", "ms_per_image": "ms/image", "ci_low_s": "95% CI low (ms)", "ci_high_s": "95% CI high (ms)",
            "images_per_s": "images/s", "params": "params (M)", "gmacs": "GMACs", "gflop_s": "GFLOP/s",
            "fraction_of_matmul": "of matmul", "macs_ratio": "MACs ratio", "time_ratio": "time ratio",
            "ratio_gap": "time - MACs", "paper_time_ratio": "paper time ratio"}  # fmt: skip
    view = t[[c for c in cols if c in t.columns]].copy()
    for c in ("ci_low_s", "ci_high_s"):
        view[c] = 1000 * t[c] / batch
    view["params"] = t.params / 1e6
    view = view.rename(columns=cols)
    lines = [
        f"# Inference benchmark: {header.device}",
        "",
        f"torch {header.torch}, settings `{header.settings}` (precision, options, batch, input W x H, width multiplier), "
        f"{header.rounds} interleaved rounds.",
        "",
        markdown_table(view, index=False),
        "",
        "- ms/image: median over rounds, with the bootstrap 95 % confidence interval of the median.",
        "- time ratio: median of the per-round ratios to the baseline; MACs ratio: the same for multiply-adds;",
        "  time - MACs near 0 means the variant runs as efficiently as the baseline.",
        "- GFLOP/s = 2 x MACs / time; `of matmul`: that over the GFLOP/s of a dense n x n matrix product timed in the",
        "  same rounds (the practical ceiling of the device at this precision).",
        "- paper time ratio: GTX 1080 Ti, Caffe, MSRA10K (results/paper/table3_msra10k.csv).",
        f"- {load_note(header)}",
    ]
    return "\n".join(lines) + "\n"


def plot(t: pd.DataFrame, path: Path, device: str) -> None:
    """Measured time ratio against MACs ratio, with the paper's GTX 1080 Ti ratios beside them."""
    plt = pyplot()

    rows = t[(t.variant != MATMUL) & (t.variant != BASELINE)]
    if "macs_ratio" not in rows:
        return
    fig, ax = plt.subplots(figsize=(6.4, 5.2))
    ax.plot([0, 1.05], [0, 1.05], color="grey", lw=0.8, ls="--", label="time proportional to MACs")
    ax.errorbar(rows.macs_ratio, rows.time_ratio, yerr=[rows.time_ratio - rows.time_ratio_ci_low, rows.time_ratio_ci_high - rows.time_ratio],
                fmt="o", color="tab:blue", label=f"measured ({device})")  # fmt: skip
    ax.scatter(rows.macs_ratio, rows.paper_time_ratio, marker="x", color="tab:red", label="paper (GTX 1080 Ti)")
    for r in rows.itertuples():
        ax.annotate(
            r.variant, (r.macs_ratio, r.time_ratio), textcoords="offset points", xytext=(5, -3), color="tab:blue"
        )
        if not pd.isna(r.paper_time_ratio):
            ax.annotate(
                r.variant,
                (r.macs_ratio, r.paper_time_ratio),
                textcoords="offset points",
                xytext=(5, -3),
                color="tab:red",
            )
    ax.set_xlabel("MACs ratio to the baseline")
    ax.set_ylabel("detection time ratio to the baseline")
    ax.set_title("Does time follow the arithmetic?")
    ax.legend(loc="upper left")
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    plt.close(fig)


def _same_bench(folder: Path, rounds: int, widths: dict, setting=None) -> bool:
    """Whether `folder` holds a benchmark of exactly `widths` over `rounds` rounds (under `setting`,
    a `config.speeds.SpeedSetting`, when given; headers older than speed settings were fp32, batch 1)."""
    try:
        header = BenchHeader.read(folder)
    except (OSError, ValueError, TypeError):
        return False
    same_setting = setting is None or header.setting == setting.name
    return header.rounds == rounds and header.same_variants(widths) and same_setting


def _to_time(recs: list[Record], width_multiplier: float, speeds, device_type: str) -> list[tuple]:
    """What `bench_table` times for a table: (widths, folder, (height, width), setting, at the
    target scale) for every speed setting at the target scale, then the trained scale in the paper's setting."""
    from fcn_ablation.config.speeds import SpeedSetting, setting_folder, settings_for

    (widths, scale, hw), *trained = table_scales(recs, width_multiplier)
    jobs = [(widths, setting_folder(scale, s), hw, s, True) for s in settings_for(speeds, device_type, "report.speeds")]
    return jobs + [(w, sc, h, SpeedSetting(SpeedConfig()), False) for w, sc, h in trained]


def benched_somewhere(recs: list[Record], out_dir: Path, *, rounds: int = 10, width_multiplier: float = 1.0,
                      speeds=("defaults",), device_type: str = "cpu") -> str | None:  # fmt: skip
    """The device folder (under `out_dir/bench/`) that holds a benchmark of exactly this table's
    variants at every scale and speed setting `bench_table` would time on a `device_type` device,
    whichever device made it; None if none does. Read where the device itself is not (a login
    node), to decide whether a job must make one."""
    jobs = _to_time(recs, width_multiplier, speeds, device_type)
    for device in sorted(p for p in results_layout.bench_root(out_dir).glob("*") if p.is_dir()):
        if all(_same_bench(device / folder, rounds, widths, setting) for widths, folder, _, setting, _ in jobs):
            return device.name
    return None


def bench_table(recs: list[Record], out_dir: Path, *, device: str = "auto", rounds: int = 10, warmup: int = 2,
                width_multiplier: float = 1.0, progress: bool = True, reuse: bool = True,
                speeds=("defaults",)) -> list[Path]:  # fmt: skip
    """Benchmark exactly the variants of a report's records (widths read from them) on `device`,
    into `out_dir/bench/<device>/<folder>/`: at the target scale (`width_multiplier` of Table 1's
    widths, the records' MACs input size, e.g. 400x300) under every speed setting of `speeds`
    (`config.speeds`; the paper's `fp32` in the scale's own folder, the others beside it) and, when
    it differs, at the trained scale (the records' own widths at their test images' typical size,
    `fp32`). A benchmark of the same widths, device, scale, setting and rounds already there is reused."""
    dev = torch_device(device)
    slug = device_slug(dev, torch.get_num_threads())
    written = []
    for widths, folder, (h, w), setting, at_target in _to_time(recs, width_multiplier, speeds, dev.type):
        out = results_layout.bench_dir(out_dir, slug, folder)
        if reuse and _same_bench(out, rounds, widths, setting):
            written.append(out)
            continue
        matmul = ceiling_size(dev, 2048 if width_multiplier >= 0.5 and at_target else 256)
        written.append(run_bench(widths, out, device=dev, opts=setting.opts, height=h, width=w, batch_size=setting.batch_size,
                                 rounds=rounds, warmup=warmup, matmul_size=matmul, progress=progress, settings=folder))  # fmt: skip
    return written


def ceiling_size(device: torch.device, cpu_size: int = 2048) -> int:
    """n of the n x n matmul that measures a device's ceiling: 8192 on a GPU (a smaller product
    does not reach a datacentre GPU's rate, so ratios to it would flatter the work), `cpu_size`
    elsewhere (8192 would take seconds a round there)."""
    return CUDA_CEILING if torch.device(device).type == "cuda" else cpu_size
