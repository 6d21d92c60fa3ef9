"""The configuration schema: dataclasses registered in Hydra's ConfigStore as `base_config`.

`conf/config.yaml` starts its defaults list with `base_config`, so every group file is merged
onto these types: an unknown key or a value of the wrong type fails at start-up, with Hydra
naming the key. Two sections are open, `optimizer` and `logger`: they name a class to build
(`_target_`) and hold its arguments beside their typed keys (`open_section`, `targets`).
`checks.validate` adds the checks types cannot express (positive widths, known layer names,
split fractions, each open section's class and arguments) and raises `ConfigError` naming the
setting. The choices the data and model code act on are named beside that code
(`data/choices.py`, `models/choices.py`) and imported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf

from fcn_ablation.data.choices import BadFilePolicy, ChannelOrder, ResizeMode
from fcn_ablation.data.splits import NewPairs
from fcn_ablation.errors import ConfigError
from fcn_ablation.models.arch import TYPICAL_HW
from fcn_ablation.models.choices import InitSource, ScheduleName, TransferRule


# What a setting is. The results store files a record under a hash of its config (the settings
# key, `config.settings_key`): records that share it are rows of one table. A field that does not
# change what a row measures is marked here, on the field, so that whoever adds a field decides:
# - `row_attribute(...)`: differs between rows of one table (the experiment, where its weights
#   started, the seed), or says only how a job runs or reports (logging, paths, timing pass);
# - `added_later(neutral, ...)`: a setting added after results were filed, left out of the key
#   at its neutral value, so that the tables filed before it keep their keys.
def row_attribute(default=MISSING, *, default_factory=None, why: str = ""):
    kw = {"default_factory": default_factory} if default_factory is not None else {"default": default}
    return field(**kw, metadata={"setting": False, "why": why})


def added_later(neutral, *, default_factory=None, default=MISSING):
    kw = {"default_factory": default_factory} if default_factory is not None else {"default": default}
    return field(**kw, metadata={"neutral": neutral})


def ours(default=MISSING, *, default_factory=None, neutral=MISSING):
    """A key of an open section (`open_section`) that this project reads and does not pass to the
    section's class; with `neutral`, also a setting added later (`added_later`)."""
    kw = {"default_factory": default_factory} if default_factory is not None else {"default": default}
    return field(**kw, metadata={"ours": True, **({} if neutral is MISSING else {"neutral": neutral})})


def open_section(schema, *, setting: bool = True, why: str = ""):
    """A section naming a class to build (`_target_`, Hydra's convention) that holds, beside the
    keys `schema` types, any argument of that class: its defaults are the schema's, and
    `config.instantiate.typed` checks the schema's keys at start-up. `setting=False`: a row attribute."""

    def defaults() -> dict:
        return OmegaConf.to_container(OmegaConf.structured(schema), enum_to_str=True)

    return field(
        default_factory=defaults, metadata={"schema": schema, **({} if setting else {"setting": False, "why": why})}
    )


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


@dataclass
class SplitConfig:
    train: float = 0.8
    val: float = 0.1
    test: float = 0.1
    seed: int = 0
    # pairs found in no split file (the data set grew after the files were written): error, add
    # (each joins a split by a hash of its name; no pair moves) or ignore (left out, said every run)
    new_pairs: NewPairs = row_attribute(NewPairs.error, why="membership is in the split files' hash")


@dataclass
class SyntheticConfig:
    num_images: int = 600
    size: int = 64  # image height (and width, unless `width` is set); with `short_side`, the long side
    width: Optional[int] = None
    seed: int = 0
    # native sizes, as MSRA10K's: the short side of each image drawn from [lo, hi], either orientation
    short_side: Optional[list[int]] = added_later(None, default=None)


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


@dataclass
class DatasetConfig:
    name: str = MISSING
    root: Optional[str] = None  # where the files are; unset with `generate`/`download`: a cache folder
    # the environment variable `root` is read from, if any (named in hints)
    root_env: Optional[str] = row_attribute(None, why="how the files arrive, not which they are")
    generate: bool = False  # write the procedural data set (settings below) when root is unset
    # the data set's published page: named in hints, the way to the files where `sources` cannot fetch them
    homepage: Optional[str] = row_attribute(None, why="how the files arrive, not which they are")
    layouts: list[LayoutConfig] = field(default_factory=lambda: [LayoutConfig("Imgs", "Imgs")])  # tried in order
    # fetch `sources` into root (or the cache) when no data set is there
    download: bool = row_attribute(False, why="how the files arrive, not which they are")
    sources: list[SourceConfig] = row_attribute(default_factory=list, why="how the files arrive, not which they are")
    on_bad_file: BadFilePolicy = BadFilePolicy.error
    split: SplitConfig = field(default_factory=SplitConfig)
    # image and mask suffixes that count (".jpg", ".png"); null: JPEGs beside PNG/BMP masks, or any
    # common image format in a folder of its own (`data.pairs`)
    image_exts: Optional[list[str]] = added_later(None, default=None)
    mask_exts: Optional[list[str]] = added_later(None, default=None)
    # a grey-level mask pixel is salient at this share of full scale or above (0.5: 128 of 255, as
    # the community reads PASCAL-S's masks, the share of subjects who marked the pixel)
    mask_threshold: float = added_later(0.5, default=0.5)
    resize_mode: ResizeMode = ResizeMode.native  # training batches only (evaluation: `eval_size`)
    fixed_size: Optional[list[int]] = None  # [height, width] for resize_mode resize or pad
    # [height, width]: validation and test images reach the network resized to this size and each map
    # is resized back (bilinear) to its mask's own size, where every metric is computed (the SOD
    # convention); null: each image at its native size, as Caffe FCN
    eval_size: Optional[list[int]] = added_later(None, default=None)
    batch_size: int = 1
    # loader processes; None: one per CPU core, at most 8
    num_workers: Optional[int] = row_attribute(None, why="how the files arrive, not which they are")
    # keep every decoded image in memory after its first read (each loader process its own copy):
    # for small sets read many times (the synthetic one: 600 96x96 pairs, 22 MB)
    keep_decoded: bool = row_attribute(False, why="speed only: the same pixels")
    channel_order: ChannelOrder = ChannelOrder.rgb  # order the network sees; mean/std below are always RGB
    # RGB, 0..255. The default is the Caffe VGG16 mean pixel (Caffe lists it as BGR 104.01, 116.67,
    # 122.68): the one place it is written.
    mean: list[float] = field(default_factory=lambda: [122.67891434, 116.66876762, 104.00698793])
    std: list[float] = field(default_factory=lambda: [1.0, 1.0, 1.0])
    flip: bool = True  # random horizontal flips in training
    # [lo, hi]: each training image is first cropped to a share of each side drawn in [lo, hi], at a
    # random place (scale augmentation, drawn by the epoch's plan); null: whole images
    crop_scale: Optional[list[float]] = added_later(None, default=None)
    synthetic: SyntheticConfig = field(default_factory=SyntheticConfig)


@dataclass
class OptimizerConfig:
    """`optimizer`: the class `_target_` names (any `torch.optim.Optimizer`), built by Hydra's
    `instantiate` as a partial and called with the parameter groups (`training.module`). The section
    is open: besides the keys below, typed and checked at start-up, it holds the class's own
    arguments (`momentum`, `betas`, ...), so a new optimiser is a YAML file in `conf/optimizer/`.
    The keys marked `ours` are read by this project and never passed to the class."""

    _target_: str = "torch.optim.AdamW"
    lr: float = 1e-3
    weight_decay: float = 0.0  # weights only: biases and the frozen deconvolutions take none, as in Caffe FCN
    schedule: ScheduleName = ours(ScheduleName.constant)
    loss_reduction: str = ours("mean")  # "mean" over pixels, or "sum" as Caffe FCN
    bias_lr_mult: float = ours(1.0)  # Caffe FCN trains biases at twice the learning rate
    # the learning rate of a job whose weights start from this source (scratch, imagenet,
    # checkpoint, baseline), where it differs from `lr`: Caffe FCN-8s trains from VGG16 at 1e-10
    # ("at-once") but fine-tunes a trained FCN at 1e-14
    lr_by_start: dict[str, float] = ours(default_factory=dict, neutral={})


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
    log_every_n_steps: int = row_attribute(10, why="logging")
    check_val_every_n_epoch: int = 1
    gradient_clip_val: Optional[float] = None
    deterministic: bool = False
    enable_progress_bar: bool = row_attribute(True, why="console")
    enable_model_summary: bool = row_attribute(False, why="console")


@dataclass
class TrainSpeedConfig:
    """How training steps run (`models/fast.py`; measured by `fcn-ablation-bench-train`).
    Mixed precision is Lightning's own `trainer.precision` (bf16-mixed; 16-mixed on CUDA). TF32 and
    size buckets change the arithmetic or the training input a little, so they are settings; the
    memory format and compilation change only the speed, so records with and without share a table."""

    tf32: bool = added_later(False, default=False)  # CUDA: TF32 matmuls and convolutions; false: true fp32
    channels_last: bool = row_attribute(False, why="speed only: the same arithmetic")
    # training and scoring without the work on known zeros: conv1_1's 100-pixel border in the first
    # stages (`models.border`), the deconvolutions' zero kernels; the same function. The detection
    # time never skips them
    skip_zeros: bool = row_attribute(False, why="speed only: the same function")
    # the optimiser's update as one fused kernel per step (PyTorch's `fused=True`, where its class
    # takes it): the same update, rounded in another order; about 3x faster on a CPU at 1/16 width
    fused_optimizer: bool = row_attribute(False, why="speed only: the same update")
    compile: bool = row_attribute(
        False, why="speed only: the same arithmetic"
    )  # the training forward; eval stays eager
    # torch.compile's mode for it: default, reduce-overhead (CUDA graphs: one launch per step's
    # forward and backward on a GPU, the cure for batch-1 launch overhead), max-autotune,
    # max-autotune-no-cudagraphs
    compile_mode: str = row_attribute("default", why="speed only: the same arithmetic")
    # pad each training batch (with the mean colour, which the loss ignores) up to multiples of this
    # many pixels: a compiled network then builds one graph per bucket, not per native image size
    size_bucket: int = added_later(0, default=0)


@dataclass
class LoggerConfig:
    """`logger`: the Lightning logger `_target_` names (null: none), built by `loggers.make_logger`
    with the job's folder as its `save_dir` where the class takes one. Open, as `optimizer`: the
    class's own arguments (W&B's `project`, `mode`, `entity`, `group`) sit beside the key below."""

    _target_: Optional[str] = None
    # W&B online without a login or a route to its server: log offline (true) or stop at start-up
    fallback_offline: bool = ours(True)


# The timing code's own type (`evaluation.timing.prepare` takes a `SpeedConfig`), so its choice lives here with it.
class Precision(str, Enum):
    fp32 = "fp32"
    bf16 = "bf16"
    fp16 = "fp16"  # CUDA only


# A speed option's name in folder and setting names (`SpeedConfig.slug`), in the order it is written.
SPEED_FLAGS = {"tf32": "tf32", "cl": "channels_last", "compile": "compile", "cudnn": "cudnn_benchmark",
               "graphs": "cuda_graphs"}  # fmt: skip


@dataclass
class SpeedConfig:
    """How a forward pass is run when it is timed: the schema of the run's `timing` and of the
    benchmark, and the one type `evaluation.timing.prepare` takes, so that every timing takes one path."""

    precision: Precision = Precision.fp32
    channels_last: bool = False
    compile: bool = False
    cudnn_benchmark: bool = False
    tf32: bool = False  # CUDA: fp32 matmuls and convolutions in TF32; false: true fp32 (convolutions included)
    # CUDA: the forward captured once per input size as a CUDA graph and replayed (one launch per
    # pass, not one per layer): what batch-1 inference on a fast GPU waits on otherwise
    cuda_graphs: bool = False

    @classmethod
    def of(cls, section) -> SpeedConfig:
        """The speed fields of a section that holds them (`timing`, the benchmark's config, a saved
        benchmark's `config.yaml`) as one of these; a field saved before it existed reads as off."""
        try:
            precision = Precision(getattr(section.precision, "value", section.precision))
        except ValueError:
            raise ConfigError(f"precision: fp32, bf16 or fp16, got {section.precision!r}") from None
        return cls(precision, **{f: bool(getattr(section, f, False)) for f in SPEED_FLAGS.values()})

    @classmethod
    def parse(cls, slug: str) -> SpeedConfig:
        """The options a `slug` names (`bf16-cl-graphs`): the precision, then any of `SPEED_FLAGS`."""
        precision, *flags = str(slug).split("-")
        unknown = [f for f in flags if f not in SPEED_FLAGS]
        if precision not in Precision.__members__ or unknown:
            raise ConfigError(
                f"speed setting {slug!r}: a precision ({', '.join(Precision.__members__)}) then any of "
                f"{', '.join(SPEED_FLAGS)}, joined by '-' (e.g. bf16-graphs); a batch as -b16"
            )
        return cls(Precision(precision), **{SPEED_FLAGS[f]: True for f in flags})

    def slug(self) -> str:
        """`fp32`, `bf16-cl-compile`, ...: the options in a folder or column name (`parse` reads it back)."""
        on = [name for name, f in SPEED_FLAGS.items() if getattr(self, f)]
        return "-".join([Precision(self.precision).value, *on])


@dataclass
class TimingConfig(SpeedConfig):
    warmup: int = 5  # forward passes before timing starts
    max_images: Optional[int] = None  # time only the first N test images; None = all
    loader_images: int = 200  # `fcn-ablation-data` times the training loader over this many
    # true: use the options (layout, compile, cuDNN autotuner) under which `fcn-ablation-bench`
    # ran the baseline fastest on this device at `precision`, 400x300 and this width; none measured: the above
    best_benchmarked: bool = False


@dataclass
class CostConfig:
    height: int = TYPICAL_HW[0]  # the size MACs are reported at
    width: int = TYPICAL_HW[1]


@dataclass
class ReportConfig:
    """How tables are drawn from the store (not a setting: it changes no row's numbers but time's)."""

    bench: bool = True  # time columns from an interleaved benchmark of the table's variants (run or reused)
    rounds: int = 10  # benchmark rounds (each times every variant once, rotated order)
    warmup: int = 2
    width_multiplier: float = 1.0  # the scale the headline time speaks of: 1.0 = the paper's full width
    # the speed settings the table's variants are timed under at that scale (`config.speeds`; the
    # time columns read `fp32`, the paper's); `defaults`: the device's (a GPU's five, a CPU's fp32)
    speeds: list[str] = field(default_factory=lambda: ["defaults"])
    permutations: int = 5000  # paired permutation test per variant versus the baseline
    alpha: float = 0.05  # family-wise error rate (Holm over the variants of a table)
    grid_images: int = 4  # test images of the saliency-map grid (the first N names of the test split)


@dataclass
class PathsConfig:
    results_dir: str = "results"
    cache_dir: str = "${oc.env:FCN_ABLATION_CACHE,${oc.env:HOME}/.cache/fcn-ablation}"


@dataclass
class Config:
    experiment: ExperimentConfig = row_attribute(default_factory=ExperimentConfig, why="the row")
    model: ModelConfig = field(default_factory=ModelConfig)
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    optimizer: dict[str, Any] = open_section(OptimizerConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    train_speed: TrainSpeedConfig = field(default_factory=TrainSpeedConfig, metadata={"neutral": {}})
    logger: dict[str, Any] = open_section(LoggerConfig, setting=False, why="logging")
    # the per-job timing pass: no table's time column reads it (those come from an interleaved benchmark)
    timing: TimingConfig = row_attribute(default_factory=TimingConfig, why="the per-job timing pass")
    cost: CostConfig = field(default_factory=CostConfig)
    paths: PathsConfig = row_attribute(default_factory=PathsConfig, why="where files go")
    # where the weights started: the record's `init_tag` tells the rows apart
    init: InitConfig = row_attribute(default_factory=InitConfig, why="a row attribute (init_tag)")
    report: ReportConfig = row_attribute(default_factory=ReportConfig, why="how tables are drawn")
    recipe: str = "modern"
    preset: str = "cpu"
    seed: int = row_attribute(0, why="a row is a distribution over seeds")
    save_checkpoint: bool = row_attribute(True, why="what a job keeps")
    # train even when the store already holds this job's record (otherwise: skip it)
    rerun: bool = row_attribute(False, why="whether a job runs")
    # false: a selection job (the width search's trials). The test split is never evaluated or
    # timed; the record holds validation scores only and is filed in the store's `selection/`
    # folder, outside every table. A tested record of the same job serves as done.
    test: bool = row_attribute(True, why="whether a record joins the table or is filed apart")
    # the data sets a tested job is scored on after training, by name (conf/dataset/NAME.yaml), each
    # on its test split (all of a test-only set); its own name: its own test split; empty: only that.
    # The record holds each set's scores under its name (`test_sets`); the table stays the training's.
    test_on: list[str] = row_attribute(default_factory=list, why="what a job is tested on, not how it trains")
    # per test set, keys of its dataset section to override: `+test_data.ecssd.root=/data/ECSSD`
    test_data: dict[str, Any] = row_attribute(default_factory=dict, why="where test sets are found")
    # save every test map as an 8-bit PNG under <maps_dir>/<method>/<set>/<image stem>.png (the
    # layout PySODEvalToolkit reads; `evaluation.maps`), method `fcn8s-<experiment>-<init>-seed<k>`; null: none
    maps_dir: Optional[str] = row_attribute(None, why="what a job keeps")
    # a sweep of variants (`-m experiment=a,b`) without the baseline's job gets it, first, with the same
    # overrides, so that its table has every "vs base" column (hydra_plugins/.../sweeper.py); false: not
    sweep_baseline: bool = row_attribute(True, why="how a sweep is made")


@dataclass
class EvaluateConfig:
    """`fcn-ablation-evaluate`: score models already in the store on a data set, no training."""

    # what to score, each one of: a table key (`c264f249c6`: results/store/*/KEY), a table's store
    # folder, a sweep's folder (the records its jobs name), or record files (`.json`)
    models: list[str] = MISSING
    dataset: DatasetConfig = field(default_factory=DatasetConfig)  # the set to score on (`dataset=NAME`)
    accelerator: str = "auto"  # where the networks run: auto (a GPU when there is one), cpu, cuda
    progress: bool = True
    rerun: bool = False  # score again models already scored on this set's split files
    report: bool = True  # rebuild the report of every table scored
    grid_images: int = 4  # test images whose maps are kept for the report's map grid
    # the size the networks see the images at: "trained" (each model's own `dataset.eval_size`, native
    # where it had none), "native", or [height, width]; maps are scored at each mask's size
    eval_size: Any = "trained"
    paths: PathsConfig = field(default_factory=PathsConfig)
    # save every map scored as an 8-bit PNG under <maps_dir>/<method>/<set>/<image stem>.png; null: none
    maps_dir: Optional[str] = None


@dataclass
class BenchConfig(SpeedConfig):
    """`fcn-ablation-bench`: inference speed of every experiment, no data, no training."""

    experiments: list[str] = field(default_factory=list)  # empty: every file in conf/experiment/
    width_multiplier: float = 1.0
    height: int = TYPICAL_HW[0]
    width: int = TYPICAL_HW[1]
    batch_size: int = 1
    num_classes: int = 2
    device: str = "auto"  # auto: cuda when available, else cpu
    threads: Optional[int] = None  # CPU threads; None: torch's default (one per core)
    warmup: int = 2  # untimed passes per variant before the first round
    rounds: int = 10  # each round times every variant once, in rotated order
    # n of the n x n matrix product that measures the device's ceiling; None: 8192 on a GPU, 2048 on a CPU
    matmul_size: Optional[int] = None
    seed: int = 0  # bootstrap of the confidence intervals
    # Table 3 under several speed settings (`config.speeds`: `fp32`, `fp32-tf32`, `bf16-graphs`,
    # `bf16-b16`, `defaults` for the device's), each timed as the keys above would, then one table of
    # them all; empty: the one setting of the keys above
    speeds: list[str] = field(default_factory=list)
    paths: PathsConfig = field(default_factory=PathsConfig)
    out_dir: str = "${paths.results_dir}/bench"  # where run jobs' timing.best_benchmarked looks


@dataclass
class TrainBenchConfig:
    """`fcn-ablation-bench-train`: its own keys, beside the whole job config (`TrainBenchRun`)."""

    rounds: int = 5  # each round times `steps` steps of each path (Lightning, plain loop), interleaved
    steps: int = 4
    warmup: int = 2  # untimed steps per path first (cuDNN, allocator, compilation)
    # n of the n x n matrix product timed in every round, the device's ceiling (in bf16 on a GPU, the
    # chip's dense rate; in the step's precision on a CPU); None: 8192 on a GPU, 2048 on a CPU
    matmul_size: Optional[int] = None
    seed: int = 0  # the networks' random weights and the bootstrap
    # then profile this many more of Lightning's steps (torch.profiler): device busy against idle
    # per step, the top operators and a Chrome trace (`bench/profile.py`); 0: no profile
    profile_steps: int = 0
    out_dir: str = "${paths.results_dir}/bench"


@dataclass
class TrainBenchRun(Config):
    """The main config plus the training benchmark's section: every group of a job applies."""

    bench_train: TrainBenchConfig = field(default_factory=TrainBenchConfig)


@dataclass
class SearchSpaceConfig:
    """Which layer groups a width search may thin (each group one factor) and the factors allowed.
    Empty here: a file of the `search_space` group fills them (a dict override merges into the
    file's groups; another set of groups is another file)."""

    groups: dict[str, list[str]] = field(default_factory=dict)
    factors: list[float] = field(default_factory=list)


@dataclass
class SearchConfig:
    """`fcn-ablation-search`: a multi-objective width search (Optuna) over `search_space`."""

    name: str = "default"  # the study: its folder, and the prefix of the experiment files it writes
    n_trials: int = 20  # completed trials the study should hold (a resumed study runs only the rest)
    seed: int = 0  # the sampler's
    sampler: str = "tpe"  # tpe | nsga2
    speed: str = "time"  # time: ratio measured by the interleaved benchmark; macs: multiply-add ratio
    table2: bool = True  # enqueue Table 2's rows expressible in the space first, to compare on equal terms
    train: list[str] = field(
        default_factory=lambda: ["init=baseline", "init.epochs=2"]
    )  # overrides of each trial's job
    seeds: list[int] = field(default_factory=lambda: [0])  # training seeds per trial; val F is their mean
    f_tolerance_pct: float = 2.0  # the answer: the fastest front member within this much of the baseline's val F
    bench_width_multiplier: float = 1.0  # time is measured at the target scale (random weights)
    bench_height: int = TYPICAL_HW[0]
    bench_width: int = TYPICAL_HW[1]
    bench_rounds: int = 5
    bench_warmup: int = 1
    device: str = "auto"
    experiments_dir: Optional[str] = None  # where front members are written as experiment files; None: conf/experiment
    search_space: SearchSpaceConfig = field(default_factory=SearchSpaceConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    out_dir: str = "${paths.results_dir}/search/${name}"


def gpus_for(accelerator) -> int | None:
    """The GPUs a cluster job asks for: one for a CUDA trainer, none (no request) otherwise, so a
    CPU sweep's jobs fit a node without GPUs."""
    from fcn_ablation.machine import CUDA_NAMES

    return 1 if str(accelerator) in CUDA_NAMES else None


def register() -> None:
    """The schemas every command composes onto, the `fcn.results_dir` resolver their Hydra job
    folders go through (`files.checked_results_dir`), and `fcn.gpus_for` (the launchers' GPUs)."""
    from fcn_ablation.files import checked_results_dir

    if not OmegaConf.has_resolver("fcn.results_dir"):
        OmegaConf.register_new_resolver("fcn.results_dir", checked_results_dir)
    if not OmegaConf.has_resolver("fcn.gpus_for"):
        OmegaConf.register_new_resolver("fcn.gpus_for", gpus_for)
    ConfigStore.instance().store(name="base_config", node=Config)
    ConfigStore.instance().store(name="bench_schema", node=BenchConfig)
    ConfigStore.instance().store(name="search_schema", node=SearchConfig)
    ConfigStore.instance().store(name="evaluate_schema", node=EvaluateConfig)


def register_bench_train() -> None:
    """The training benchmark's schema: `config.yaml` (every group of a job) composed onto the job's
    schema plus its `bench_train` section. Registered under `base_config`, the name `config.yaml`
    starts from, in the benchmark's process only."""
    register()
    ConfigStore.instance().store(name="base_config", node=TrainBenchRun)


# On import, once for every process that composes a config: a command's, a test's, and a launcher's
# job process (submitit re-composes the sweep's config there from the pickled task, before any main).
register()
