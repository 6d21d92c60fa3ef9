"""Start-up checks of a job's config beyond what the schema's types catch: each failure is one
line naming the key at fault. A check whose rule belongs to other code calls that code (the
layers and factors of an experiment: `models.widths`; split fractions: `data.splits`), so each
rule is written once."""

from __future__ import annotations

from omegaconf import OmegaConf

from fcn_ablation.config import datasets, experiments, instantiate
from fcn_ablation.config.schema import LoggerConfig, OptimizerConfig
from fcn_ablation.data.choices import ResizeMode
from fcn_ablation.data.layouts import root_hints
from fcn_ablation.data.splits import check_fractions
from fcn_ablation.data.synthetic import check_short_side
from fcn_ablation.errors import ConfigError
from fcn_ablation.models.choices import InitSource
from fcn_ablation.models.widths import build_widths

SEED = (lambda v: 0 <= v < 2**32, "in 0 .. 4294967295 (numpy's range)")
AT_LEAST_1 = (lambda v: v >= 1, "at least 1")
NONE_OR_AT_LEAST_1 = (lambda v: v is None or v >= 1, "at least 1, or null")
NOT_NEGATIVE = (lambda v: v >= 0, ">= 0")

# The range of every plain numeric setting of a training job, checked at start-up (before any
# folder is made): {key: (test, what the message says it must be)}. Settings whose rule involves
# others (epochs and steps, widths, split fractions, sizes in pairs) are checked in `validate`.
RANGES = {
    "seed": SEED,
    "dataset.split.seed": SEED,
    "init.seed": SEED,
    "dataset.synthetic.seed": SEED,
    "dataset.synthetic.num_images": AT_LEAST_1,
    "dataset.synthetic.size": AT_LEAST_1,
    "dataset.synthetic.width": NONE_OR_AT_LEAST_1,
    "dataset.batch_size": AT_LEAST_1,
    "trainer.log_every_n_steps": AT_LEAST_1,
    "trainer.check_val_every_n_epoch": AT_LEAST_1,
    "trainer.gradient_clip_val": (lambda v: v is None or v > 0, "positive, or null (no clipping)"),
    "timing.warmup": NOT_NEGATIVE,
    "timing.max_images": NONE_OR_AT_LEAST_1,
    "timing.loader_images": AT_LEAST_1,
    "cost.height": AT_LEAST_1,
    "cost.width": AT_LEAST_1,
    "init.epochs": NONE_OR_AT_LEAST_1,
}


def check_ranges(cfg, ranges: dict = RANGES) -> None:
    """Each key of `ranges` that `cfg` holds is in its range, or one line naming it."""
    for key, (ok, rule) in ranges.items():
        value = OmegaConf.select(cfg, key, default=None)
        if OmegaConf.select(cfg, key, default="absent") == "absent":  # a section without the key (an older config)
            continue
        if not ok(value):
            raise ConfigError(f"{key}: must be {rule}, got {value}")


def check_budget(trainer) -> None:
    """Epochs and steps: a number of epochs (0 trains nothing: the record scores the starting
    weights and says `untrained`), or -1, Lightning's "no limit", only with a step limit, since a
    job without either would train until killed."""
    epochs, steps = trainer.max_epochs, trainer.max_steps
    if steps != -1 and steps < 0:
        raise ConfigError(f"trainer.max_steps: must be -1 (no limit) or >= 0, got {steps}")
    if epochs == -1 and steps == -1:
        raise ConfigError(
            "trainer.max_epochs=-1 (no limit) with trainer.max_steps=-1 (no limit) would train until killed: "
            "set trainer.max_epochs=N, or trainer.max_steps=N with it"
        )
    if epochs != -1 and epochs < 0:
        raise ConfigError(f"trainer.max_epochs: must be >= 0, or -1 (no limit) with trainer.max_steps=N, got {epochs}")


def validate(cfg, training: bool = True) -> None:
    """Checks beyond types; each failure names the key at fault. `training=False`: a look at the
    data set alone (`fcn-ablation-data`), which a test-only set passes."""
    # The experiment's layers and factors, and the width multiplier: checked where widths are made.
    build_widths(experiments.factors(cfg.experiment), cfg.model.width_multiplier)
    check_ranges(cfg)
    check_budget(cfg.trainer)
    if not 0 <= cfg.model.dropout < 1:
        raise ConfigError(f"model.dropout: must be in [0, 1), got {cfg.model.dropout}")
    if cfg.model.num_classes < 2:
        raise ConfigError(f"model.num_classes: must be at least 2, got {cfg.model.num_classes}")
    s = cfg.dataset.split
    check_fractions((s.train, s.val, s.test))
    own = cfg.dataset.name in datasets.sets_tested_on(cfg.get("test_on", []), cfg.dataset.name)
    if s.train == 0 and training:
        raise ConfigError(
            f"dataset={cfg.dataset.name} is a test-only set (dataset.split.train=0): train on another set and test on "
            f"this one with test_on=[{cfg.dataset.name}], or split it to train on it: 'dataset.split={{train:0.7,val:0.1,test:0.2}}'"
        )
    if s.test == 0 and cfg.test and own and training:
        raise ConfigError(
            f"dataset.split.test: 0 leaves {cfg.dataset.name} no test images; test on other sets (test_on=[duts_te,...]) "
            "or set it > 0"
        )
    if cfg.test and training:
        check_test_sets(cfg)
    if not cfg.test and s.val == 0:
        raise ConfigError("test=false scores the validation split, which is empty: set dataset.split.val > 0")
    _validate_dataset(cfg.dataset)
    if len(cfg.dataset.mean) != 3 or len(cfg.dataset.std) != 3 or min(cfg.dataset.std) <= 0:
        raise ConfigError("dataset.mean / dataset.std: need three values each, std positive")
    _validate_optimizer(cfg.optimizer, cfg.recipe)
    if InitSource(cfg.init.baseline_from) not in (InitSource.scratch, InitSource.imagenet):
        raise ConfigError(f"init.baseline_from: scratch or imagenet, got {cfg.init.baseline_from}")
    if InitSource(cfg.init.source) is InitSource.checkpoint and not cfg.init.path:
        raise ConfigError("init=checkpoint needs init.path=/path/to/model.pt")
    check_logger(cfg.logger)
    _validate_training(cfg.trainer, cfg.train_speed, instantiate.typed(cfg.optimizer, OptimizerConfig, "optimizer"))
    r = cfg.report
    check_rounds(r.rounds, r.warmup, "report")
    if r.permutations < 100 or not 0 < r.alpha < 1 or r.grid_images < 0 or not r.width_multiplier > 0:
        raise ConfigError(
            f"report: permutations >= 100, 0 < alpha < 1, grid_images >= 0 and width_multiplier > 0 are needed "
            f"(got permutations={r.permutations}, alpha={r.alpha}, grid_images={r.grid_images}, "
            f"width_multiplier={r.width_multiplier})"
        )
    if r.bench:  # the end-of-sweep benchmark's settings, checked before any job rather than after all of them
        from fcn_ablation.config.speeds import settings_for
        from fcn_ablation.machine import on_cuda

        settings_for(r.speeds, "cuda" if on_cuda(cfg.trainer.accelerator) else "cpu", "report.speeds")
    try:  # the table's variants are timed at this scale: every layer keeps a channel there too
        build_widths(experiments.factors(cfg.experiment), r.width_multiplier)
    except ConfigError as err:
        raise ConfigError(str(err).replace("model.width_multiplier", "report.width_multiplier")) from None


def check_test_sets(cfg) -> None:
    """Every set of `test_on` has a file, its section validates (a failure names `test_data.NAME`),
    and `test_data` names only sets of `test_on`."""
    names = datasets.sets_tested_on(cfg.test_on, cfg.dataset.name)
    stray = sorted(set(cfg.test_data) - set(names))
    if stray:
        raise ConfigError(
            f"test_data.{stray[0]}: not a set of test_on ({', '.join(names)}); add it to test_on or drop it"
        )
    for name in names:
        if name == cfg.dataset.name:
            continue
        section = datasets.section_of_test_set(cfg.dataset, name, _plain(cfg.test_data.get(name)))
        check_dataset(section, f"test_data.{name}", f"test_on={name}: ")
        if section.split.test == 0:
            raise ConfigError(f"test_on={name}: its test split is empty (dataset.split.test=0 in its file); set "
                              f"+test_data.{name}.split.test=... or test on another set")  # fmt: skip


def check_dataset(ds, key: str = "dataset", lead: str = "") -> None:
    """A `dataset` section's checks, its keys named as `key.*` (`test_data.ecssd.root`)."""
    try:
        _validate_dataset(ds)
    except ConfigError as err:
        raise ConfigError(lead + str(err).replace("dataset.", f"{key}.")) from None


def _plain(node):
    return OmegaConf.to_container(node, resolve=True) if node is not None else None


def _validate_dataset(ds) -> None:
    mode = ResizeMode(ds.resize_mode)
    size = ds.fixed_size
    if size is not None and (len(size) != 2 or min(size) < 1):
        raise ConfigError(f"dataset.fixed_size: [height, width] of positive integers, got {list(size)}")
    if mode is not ResizeMode.native and size is None:
        raise ConfigError(f"dataset.resize_mode={mode.value} needs dataset.fixed_size=[height,width]")
    crop = ds.get("crop_scale")
    if crop is not None and (len(crop) != 2 or not 0 < crop[0] <= crop[1] <= 1):
        raise ConfigError(f"dataset.crop_scale: [lo, hi] with 0 < lo <= hi <= 1, or null, got {list(crop)}")
    eval_size = ds.get("eval_size")
    if eval_size is not None and (len(eval_size) != 2 or min(eval_size) < 1):
        raise ConfigError(f"dataset.eval_size: [height, width] of positive integers or null, got {list(eval_size)}")
    threshold = ds.mask_threshold
    if not 0 < threshold <= 1:
        raise ConfigError(f"dataset.mask_threshold: a share of full scale in (0, 1], got {threshold}")
    for key in ("image_exts", "mask_exts"):
        exts = ds.get(key)
        if exts is not None and (not exts or any(not str(e).startswith(".") or str(e) != str(e).lower() for e in exts)):
            raise ConfigError(
                f"dataset.{key}: lower-case suffixes with their dot, e.g. ['.jpg', '.png'], got {list(exts)}"
            )
    if ds.get("image_exts") and ds.get("mask_exts") and set(ds.image_exts) & set(ds.mask_exts):
        both = sorted(set(ds.image_exts) & set(ds.mask_exts))
        if any(lay.images == lay.masks for lay in ds.layouts):
            raise ConfigError(f"dataset.image_exts and dataset.mask_exts share {both} while images and masks "
                              "share a folder: a file could be either; give them folders of their own")  # fmt: skip
    if ds.num_workers is not None and ds.num_workers < 0:
        raise ConfigError(f"dataset.num_workers: must be >= 0 or null (one per core), got {ds.num_workers}")
    if not ds.layouts:
        raise ConfigError("dataset.layouts: empty; list at least one {images: DIR, masks: DIR}")
    if not ds.root and not ds.generate and not ds.download:
        raise ConfigError(f"dataset.root: not set for data set {ds.name!r}; {root_hints(ds)}")
    if ds.download and not ds.sources:
        raise ConfigError(f"dataset.download=true, but data set {ds.name!r} lists no dataset.sources to fetch")
    if ds.generate:
        check_short_side(ds.synthetic.size, ds.synthetic.short_side)


FP16 = ("16", "16-mixed", "16-true")


COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")  # torch.compile's


def _validate_training(trainer, speed, optimizer) -> None:
    """Precision and the training fast paths (`train_speed`): combinations that would train
    something other than what was asked stop here, before any work."""
    from fcn_ablation.machine import on_cuda

    precision = str(trainer.precision)
    on_cpu = not on_cuda(trainer.accelerator)
    if precision in FP16 and on_cpu:
        raise ConfigError(
            f"trainer.precision={precision}: fp16 needs a CUDA device (on a CPU Lightning would train in bf16 "
            "instead); use trainer.precision=bf16-mixed"
        )
    if precision in ("16-true", "bf16-true"):
        raise ConfigError(
            f"trainer.precision={precision} keeps the weights themselves in 16 bits, where updates under 1/256 of a "
            "weight vanish (the paper's rates are 1e-10 and 1e-14); use trainer.precision=bf16-mixed"
        )
    if precision in FP16 and optimizer.loss_reduction == "sum":
        raise ConfigError(
            f"trainer.precision={precision} with optimizer.loss_reduction=sum (recipe=paper): the loss summed over "
            "an image's pixels and its gradients exceed fp16's range (65504), so the gradient scaler would skip "
            "steps; use trainer.precision=bf16-mixed (fp32's range)"
        )
    if speed.tf32 and on_cpu:
        raise ConfigError("train_speed.tf32=true: TF32 is a CUDA format and this job trains on the CPU; drop it")
    if speed.compile_mode not in COMPILE_MODES:
        raise ConfigError(f"train_speed.compile_mode: one of {', '.join(COMPILE_MODES)}, got {speed.compile_mode!r}")
    if speed.size_bucket < 0:
        raise ConfigError(f"train_speed.size_bucket: 0 (off) or a number of pixels, got {speed.size_bucket}")


def _validate_optimizer(section, recipe: str) -> None:
    """The optimiser section: its keys' types, its class, its arguments (each a key the class
    takes), and then the values, by building the optimiser on one parameter as a job will."""
    import torch

    opt = instantiate.typed(section, OptimizerConfig, "optimizer")
    cls = instantiate.target_class(opt, "optimizer", torch.optim.Optimizer)
    instantiate.check_arguments("optimizer", cls, instantiate.arguments(opt, OptimizerConfig))
    if recipe == "paper" and (not issubclass(cls, torch.optim.SGD) or opt.loss_reduction != "sum"):
        raise ConfigError(
            f"recipe=paper is Caffe's SGD on the summed loss, but optimizer._target_={opt._target_} and "
            f"optimizer.loss_reduction={opt.loss_reduction}: drop the optimizer override, or use recipe=modern"
        )
    if opt.lr <= 0:
        raise ConfigError(f"optimizer.lr: must be positive, got {opt.lr}")
    if opt.weight_decay < 0:
        raise ConfigError(f"optimizer.weight_decay: must be >= 0, got {opt.weight_decay}")
    if opt.loss_reduction not in ("mean", "sum"):
        raise ConfigError(f"optimizer.loss_reduction: 'mean' or 'sum', got {opt.loss_reduction!r}")
    for start, lr in opt.lr_by_start.items():
        if start not in InitSource.__members__ or not lr > 0:
            raise ConfigError(
                f"optimizer.lr_by_start.{start}={lr}: keys are {', '.join(InitSource.__members__)}, values positive"
            )
    if opt.bias_lr_mult <= 0:
        raise ConfigError(f"optimizer.bias_lr_mult: must be positive, got {opt.bias_lr_mult}")
    try:
        instantiate.build(opt, OptimizerConfig, [torch.nn.Parameter(torch.zeros(2, 2))])
    except (TypeError, ValueError) as err:
        raise ConfigError(f"optimizer: {str(err).splitlines()[0]}; fix the optimizer.* setting it names") from None


# ----------------------------------------------------------------------------- the logger section
def check_rounds(rounds: int, warmup: int, where: str) -> None:
    """A benchmark's rounds and warm-up, wherever one is configured: two rounds at least (an
    interval over rounds needs two), no negative warm-up."""
    if rounds < 2 or warmup < 0:
        raise ConfigError(f"{where}: rounds >= 2 and warmup >= 0 are needed (got rounds={rounds}, warmup={warmup})")


def wandb_group(logger, group: str | None) -> str:
    """The W&B group a job's run and its sweep's report join: the logger section's own, else the
    sweep's (its folder's name), else "single" (a single job)."""
    return logger.get("group") or group or "single"


def is_wandb(section) -> bool:
    """Whether a `logger` section names W&B's logger (or a subclass): W&B's offline/online handling applies."""
    from pytorch_lightning.loggers import Logger, WandbLogger

    return section.get("_target_") is not None and issubclass(
        instantiate.target_class(section, "logger", Logger), WandbLogger
    )


def check_logger(section) -> None:
    """At start-up: our keys' types, the class (it imports and is a Lightning logger), every key
    given (an argument of the class), and W&B's mode (one it knows)."""
    from pytorch_lightning.loggers import Logger

    section = instantiate.typed(section, LoggerConfig, "logger")
    if section._target_ is None:
        return
    cls = instantiate.target_class(section, "logger", Logger)
    instantiate.check_arguments("logger", cls, instantiate.arguments(section, LoggerConfig))
    if is_wandb(section) and wandb_mode(section) not in ("offline", "online", "disabled"):
        raise ConfigError(f"logger.mode: 'offline', 'online' or 'disabled', got {section.mode!r}")


def wandb_mode(section) -> str:
    """The W&B mode a section asks for (offline when it names none)."""
    return section.get("mode") or "offline"
