"""The configuration schema: dataclasses registered in Hydra's ConfigStore as `base_config`.

`conf/config.yaml` starts its defaults list with `base_config`, so every group file is merged
onto these types: an unknown key or a value of the wrong type fails at start-up, with Hydra
naming the key. `validate` adds the checks types cannot express (positive widths, known layer
names, split fractions) and raises `ConfigError` naming the setting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from fcn_ablation.errors import ConfigError


@dataclass
class ExperimentConfig:
    """One row of Table 2: which layers lose width, and by how much."""

    name: str = "${hydra:runtime.choices.experiment}"  # the file's name, e.g. `b` for experiment/b.yaml
    description: str = ""
    halve: list[str] = field(default_factory=list)  # shorthand for a factor of 0.5
    factors: dict[str, float] = field(default_factory=dict)  # any positive per-layer factor


@dataclass
class ModelConfig:
    width_multiplier: float = 1.0  # scales every width (after the experiment's factors)
    num_classes: int = 2
    dropout: float = 0.5
    learn_upsampling: bool = False  # Caffe keeps the bilinear deconvolutions fixed
    at_once_scaling: bool = False  # FCN-8s "at-once": pool4 x 0.01 and pool3 x 0.0001 before their scorers


class NewPairs(str, Enum):
    error = "error"  # stop, naming how many pairs are in no split and the choices
    add = "add"  # file each into a split by a hash of its name (no existing pair moves)
    ignore = "ignore"  # train and test without them, with a warning on every run


@dataclass
class SplitConfig:
    train: float = 0.8
    val: float = 0.1
    test: float = 0.1
    seed: int = 0
    # pairs found in no split file (the data set grew after the files were written): error, add
    # (each joins a split by a hash of its name; no pair moves) or ignore (left out, said every run)
    new_pairs: NewPairs = NewPairs.error


@dataclass
class SyntheticConfig:
    num_images: int = 600
    size: int = 64  # image height (and width, unless `width` is set)
    width: Optional[int] = None
    seed: int = 0


@dataclass
class LayoutConfig:
    """One way a data set is distributed: image folder and mask folder, relative to the root
    (the same folder when images and masks sit side by side, as in MSRA10K's archive)."""

    images: str = MISSING
    masks: str = MISSING


@dataclass
class SourceConfig:
    """One archive of a data set's published download."""

    url: str = MISSING
    sha256: Optional[str] = None  # verified when set; otherwise the size the server announces is
    size: Optional[int] = None  # bytes, verified when set


class BadFilePolicy(str, Enum):
    error = "error"  # stop at the first bad pair, naming the file and the problem
    skip = "skip"  # leave bad pairs out; the result record counts and lists them


class ChannelOrder(str, Enum):
    rgb = "rgb"
    bgr = "bgr"  # Caffe's VGG16 was trained on BGR input


class ResizeMode(str, Enum):
    native = "native"  # Caffe FCN: every image at its own size (batch size 1 unless all sizes agree)
    resize = "resize"  # training images resized to `fixed_size` (masks by nearest neighbour)
    pad = "pad"  # shrunk to fit `fixed_size` if larger, then padded; padding is ignored by the loss


@dataclass
class DatasetConfig:
    name: str = MISSING
    root: Optional[str] = None  # where the files are; unset with `generate`/`download`: a cache folder
    root_env: Optional[str] = None  # the environment variable `root` is read from, if any (named in hints)
    generate: bool = False  # write the procedural data set (settings below) when root is unset
    layouts: list[LayoutConfig] = field(default_factory=lambda: [LayoutConfig("Imgs", "Imgs")])  # tried in order
    download: bool = False  # fetch `sources` into root (or the cache) when no data set is there
    sources: list[SourceConfig] = field(default_factory=list)
    on_bad_file: BadFilePolicy = BadFilePolicy.error
    split: SplitConfig = field(default_factory=SplitConfig)
    resize_mode: ResizeMode = ResizeMode.native  # training batches only: evaluation is always native
    fixed_size: Optional[list[int]] = None  # [height, width] for resize_mode resize or pad
    batch_size: int = 1
    num_workers: Optional[int] = None  # loader processes; None: one per CPU core, at most 8
    channel_order: ChannelOrder = ChannelOrder.rgb  # order the network sees; mean/std below are always RGB
    mean: list[float] = field(default_factory=lambda: [122.67891434, 116.66876762, 104.00698793])  # RGB, 0..255
    std: list[float] = field(default_factory=lambda: [1.0, 1.0, 1.0])
    flip: bool = True  # random horizontal flips in training
    synthetic: SyntheticConfig = field(default_factory=SyntheticConfig)


class OptimizerName(str, Enum):
    adamw = "adamw"
    sgd = "sgd"


class ScheduleName(str, Enum):
    constant = "constant"
    cosine = "cosine"


@dataclass
class OptimizerConfig:
    name: OptimizerName = OptimizerName.adamw
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9  # SGD only
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])  # AdamW only
    schedule: ScheduleName = ScheduleName.constant
    loss_reduction: str = "mean"  # "mean" over pixels, or "sum" as Caffe FCN
    bias_lr_mult: float = 1.0  # Caffe FCN trains biases at twice the learning rate
    # the learning rate of a job whose weights start from this source (scratch, imagenet,
    # checkpoint, baseline), where it differs from `lr`: Caffe FCN-8s trains from VGG16 at 1e-10
    # ("at-once") but fine-tunes a trained FCN at 1e-14
    lr_by_start: dict[str, float] = field(default_factory=dict)


class InitSource(str, Enum):
    scratch = "scratch"  # random initialisation
    imagenet = "imagenet"  # VGG16 ImageNet weights (torchvision's state dict), fc6/fc7 reshaped
    checkpoint = "checkpoint"  # a model.pt this project wrote (`init.path`)
    baseline = "baseline"  # the newest trained baseline of the same data set and settings


class TransferRule(str, Enum):
    first_k = "first_k"  # the paper: the first k kernels, and the first input channels
    random = "random"  # a seeded random subset
    l1_norm = "l1_norm"  # the k kernels of largest L1 norm (magnitude pruning)


@dataclass
class InitConfig:
    """Where the weights start from, and how a wider source is cut down to this model."""

    source: InitSource = InitSource.scratch
    rule: TransferRule = TransferRule.first_k
    seed: int = 0  # for rule=random
    path: Optional[str] = None  # imagenet: a local torchvision-format VGG16 file; checkpoint: a model.pt
    url: str = "https://download.pytorch.org/models/vgg16-397923af.pth"  # imagenet without a path
    baseline_from: InitSource = InitSource.scratch  # source=baseline: how the baseline experiment itself starts
    epochs: Optional[int] = None  # epochs to train after a transfer (fine-tuning); None: trainer.max_epochs


@dataclass
class TrainerConfig:
    """Passed to `pytorch_lightning.Trainer`; the keys are its own."""

    accelerator: str = "cpu"
    devices: Any = 1
    precision: str = "32-true"
    max_epochs: int = 10
    max_steps: int = -1
    log_every_n_steps: int = 10
    check_val_every_n_epoch: int = 1
    gradient_clip_val: Optional[float] = None
    deterministic: bool = False
    enable_progress_bar: bool = True
    enable_model_summary: bool = False


@dataclass
class LoggerConfig:
    name: str = "wandb"  # wandb | csv | none
    project: str = "fcn-ablation"
    mode: str = "offline"  # W&B mode: offline (default, no network) | online | disabled
    fallback_offline: bool = True  # online without a login or a route to W&B: offline (true) or stop at start-up
    entity: Optional[str] = None
    group: Optional[str] = None  # default: the Hydra sweep directory name


class Precision(str, Enum):
    fp32 = "fp32"
    bf16 = "bf16"
    fp16 = "fp16"  # CUDA only


@dataclass
class SpeedConfig:
    """How a forward pass is run when it is timed (`timing.SpeedOptions`): shared by the run's
    detection timing and the benchmark, so that both take one path."""

    precision: Precision = Precision.fp32
    channels_last: bool = False
    compile: bool = False
    cudnn_benchmark: bool = False


@dataclass
class TimingConfig(SpeedConfig):
    warmup: int = 5  # forward passes before timing starts
    max_images: Optional[int] = None  # time only the first N test images; None = all
    loader_images: int = 200  # `python -m fcn_ablation.data` times the training loader over this many
    # true: use the options (layout, compile, cuDNN autotuner) under which `python -m fcn_ablation.bench`
    # ran the baseline fastest on this device at `precision`, 400x300 and this width; none measured: the above
    best_benchmarked: bool = False


@dataclass
class CostConfig:
    height: int = 300  # the size MACs are reported at: a typical 400x300 MSRA10K image
    width: int = 400


@dataclass
class ReportConfig:
    """How tables are drawn from the store (not a setting: it changes no row's numbers but time's)."""

    bench: bool = True  # time columns from an interleaved benchmark of the table's variants (run or reused)
    rounds: int = 10  # benchmark rounds (each times every variant once, rotated order)
    warmup: int = 2
    width_multiplier: float = 1.0  # the scale the headline time speaks of: 1.0 = the paper's full width
    permutations: int = 5000  # paired permutation test per variant versus the baseline
    alpha: float = 0.05  # family-wise error rate (Holm over the variants of a table)
    grid_images: int = 4  # test images of the saliency-map grid (the first N names of the test split)


@dataclass
class PathsConfig:
    results_dir: str = "results"
    cache_dir: str = "${oc.env:FCN_ABLATION_CACHE,${oc.env:HOME}/.cache/fcn-ablation}"


@dataclass
class Config:
    experiment: ExperimentConfig = field(default_factory=ExperimentConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    timing: TimingConfig = field(default_factory=TimingConfig)
    cost: CostConfig = field(default_factory=CostConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    init: InitConfig = field(default_factory=InitConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    recipe: str = "modern"
    preset: str = "cpu"
    seed: int = 0
    save_checkpoint: bool = True
    rerun: bool = False  # train even when the store already holds this job's record (otherwise: skip it)
    # false: a selection job (the width search's trials). The test split is never evaluated or
    # timed; the record holds validation scores only and is filed in the store's `selection/`
    # folder, outside every table. A tested record of the same job serves as done.
    test: bool = True


@dataclass
class BenchConfig(SpeedConfig):
    """`python -m fcn_ablation.bench`: inference speed of every experiment, no data, no training."""

    experiments: list[str] = field(default_factory=list)  # empty: every file in conf/experiment/
    width_multiplier: float = 1.0
    height: int = 300  # the typical MSRA10K image
    width: int = 400
    batch_size: int = 1
    num_classes: int = 2
    device: str = "auto"  # auto: cuda when available, else cpu
    threads: Optional[int] = None  # CPU threads; None: torch's default (one per core)
    warmup: int = 2  # untimed passes per variant before the first round
    rounds: int = 10  # each round times every variant once, in rotated order
    matmul_size: int = 2048  # n of the n x n matrix product that measures the device's ceiling
    seed: int = 0  # bootstrap of the confidence intervals
    paths: PathsConfig = field(default_factory=PathsConfig)
    out_dir: str = "${paths.results_dir}/bench"  # where run jobs' timing.best_benchmarked looks


@dataclass
class SearchSpaceConfig:
    """Which layer groups a width search may thin (each group one factor) and the factors allowed.
    Empty here: a file of the `search_space` group fills them (a dict override merges into the
    file's groups; another set of groups is another file)."""

    groups: dict[str, list[str]] = field(default_factory=dict)
    factors: list[float] = field(default_factory=list)


@dataclass
class SearchConfig:
    """`python -m fcn_ablation.search`: a multi-objective width search (Optuna) over `search_space`."""

    name: str = "default"  # the study: its folder, and the prefix of the experiment files it writes
    n_trials: int = 20  # completed trials the study should hold (a resumed study runs only the rest)
    seed: int = 0  # the sampler's
    sampler: str = "tpe"  # tpe | nsga2
    speed: str = "time"  # time: ratio measured by the interleaved benchmark; macs: multiply-add ratio
    table2: bool = True  # enqueue Table 2's rows expressible in the space first, to compare on equal terms
    train: list[str] = field(default_factory=lambda: ["init=baseline", "init.epochs=2"])  # overrides of each trial's job
    seeds: list[int] = field(default_factory=lambda: [0])  # training seeds per trial; val F is their mean
    f_tolerance_pct: float = 2.0  # the answer: the fastest front member within this much of the baseline's val F
    bench_width_multiplier: float = 1.0  # time is measured at the target scale (random weights)
    bench_height: int = 300
    bench_width: int = 400
    bench_rounds: int = 5
    bench_warmup: int = 1
    device: str = "auto"
    experiments_dir: Optional[str] = None  # where front members are written as experiment files; None: conf/experiment
    search_space: SearchSpaceConfig = field(default_factory=SearchSpaceConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    out_dir: str = "${paths.results_dir}/search/${name}"


def register() -> None:
    ConfigStore.instance().store(name="base_config", node=Config)
    ConfigStore.instance().store(name="bench_schema", node=BenchConfig)
    ConfigStore.instance().store(name="search_schema", node=SearchConfig)


def validate(cfg) -> None:
    """Checks beyond types; each failure names the key at fault."""
    from fcn_ablation.models.widths import layer_factors

    layer_factors(cfg.experiment.halve, cfg.experiment.factors, experiment=cfg.experiment.name)
    for key, seed in (("seed", cfg.seed), ("dataset.split.seed", cfg.dataset.split.seed), ("init.seed", cfg.init.seed)):
        if not 0 <= seed < 2**32:
            raise ConfigError(f"{key}: must be in 0 .. 4294967295 (numpy's range), got {seed}")
    if not cfg.model.width_multiplier > 0:
        raise ConfigError(f"model.width_multiplier: must be positive, got {cfg.model.width_multiplier}")
    if not 0 <= cfg.model.dropout < 1:
        raise ConfigError(f"model.dropout: must be in [0, 1), got {cfg.model.dropout}")
    if cfg.model.num_classes < 2:
        raise ConfigError(f"model.num_classes: must be at least 2, got {cfg.model.num_classes}")
    s = cfg.dataset.split
    if min(s.train, s.val, s.test) < 0 or abs(s.train + s.val + s.test - 1) > 1e-6 or s.test == 0:
        raise ConfigError(f"dataset.split: train/val/test = {s.train}/{s.val}/{s.test} must be >= 0, sum to 1, test > 0")
    if not cfg.test and s.val == 0:
        raise ConfigError("test=false scores the validation split, which is empty: set dataset.split.val > 0")
    if cfg.dataset.batch_size < 1:
        raise ConfigError(f"dataset.batch_size: must be at least 1, got {cfg.dataset.batch_size}")
    _validate_dataset(cfg.dataset)
    if len(cfg.dataset.mean) != 3 or len(cfg.dataset.std) != 3 or min(cfg.dataset.std) <= 0:
        raise ConfigError("dataset.mean / dataset.std: need three values each, std positive")
    if cfg.optimizer.lr <= 0:
        raise ConfigError(f"optimizer.lr: must be positive, got {cfg.optimizer.lr}")
    if cfg.optimizer.loss_reduction not in ("mean", "sum"):
        raise ConfigError(f"optimizer.loss_reduction: 'mean' or 'sum', got {cfg.optimizer.loss_reduction!r}")
    for start, lr in cfg.optimizer.lr_by_start.items():
        if start not in InitSource.__members__ or not lr > 0:
            raise ConfigError(f"optimizer.lr_by_start.{start}={lr}: keys are {', '.join(InitSource.__members__)}, values positive")
    if cfg.optimizer.bias_lr_mult <= 0:
        raise ConfigError(f"optimizer.bias_lr_mult: must be positive, got {cfg.optimizer.bias_lr_mult}")
    if cfg.init.epochs is not None and cfg.init.epochs < 1:
        raise ConfigError(f"init.epochs: must be positive or null, got {cfg.init.epochs}")
    if InitSource(cfg.init.baseline_from) not in (InitSource.scratch, InitSource.imagenet):
        raise ConfigError(f"init.baseline_from: scratch or imagenet, got {cfg.init.baseline_from}")
    if InitSource(cfg.init.source) is InitSource.checkpoint and not cfg.init.path:
        raise ConfigError("init=checkpoint needs init.path=/path/to/model.pt")
    if cfg.logger.name not in ("wandb", "csv", "none"):
        raise ConfigError(f"logger.name: 'wandb', 'csv' or 'none', got {cfg.logger.name!r}")
    if cfg.logger.mode not in ("offline", "online", "disabled"):
        raise ConfigError(f"logger.mode: 'offline', 'online' or 'disabled', got {cfg.logger.mode!r}")
    if cfg.timing.warmup < 0:
        raise ConfigError(f"timing.warmup: must be >= 0, got {cfg.timing.warmup}")
    r = cfg.report
    if r.rounds < 2 or r.warmup < 0 or r.permutations < 100 or not 0 < r.alpha < 1 or r.grid_images < 0 or not r.width_multiplier > 0:
        raise ConfigError(
            f"report: rounds >= 2, warmup >= 0, permutations >= 100, 0 < alpha < 1, grid_images >= 0 and "
            f"width_multiplier > 0 are needed (got rounds={r.rounds}, warmup={r.warmup}, permutations={r.permutations}, "
            f"alpha={r.alpha}, grid_images={r.grid_images}, width_multiplier={r.width_multiplier})"
        )


def root_hints(ds) -> str:
    """What can bring a data set's files into place, for this data set only."""
    env = f" (or set {ds.root_env})" if ds.root_env else ""
    hints = [f"pass dataset.root=/path/to/{ds.name}{env}"]
    if ds.sources:
        hints.append("pass dataset.download=true to fetch it")
    if ds.generate:
        hints.append("leave dataset.root unset to generate it (dataset.generate=true)")
    return ", or ".join(hints)


def _validate_dataset(ds) -> None:
    mode = ResizeMode(ds.resize_mode)
    size = ds.fixed_size
    if size is not None and (len(size) != 2 or min(size) < 1):
        raise ConfigError(f"dataset.fixed_size: [height, width] of positive integers, got {list(size)}")
    if mode is not ResizeMode.native and size is None:
        raise ConfigError(f"dataset.resize_mode={mode.value} needs dataset.fixed_size=[height,width]")
    if ds.num_workers is not None and ds.num_workers < 0:
        raise ConfigError(f"dataset.num_workers: must be >= 0 or null (one per core), got {ds.num_workers}")
    if not ds.layouts:
        raise ConfigError("dataset.layouts: empty; list at least one {images: DIR, masks: DIR}")
    if not ds.root and not ds.generate and not ds.download:
        raise ConfigError(f"dataset.root: not set for data set {ds.name!r}; {root_hints(ds)}")
    if ds.download and not ds.sources:
        raise ConfigError(f"dataset.download=true, but data set {ds.name!r} lists no dataset.sources to fetch")
