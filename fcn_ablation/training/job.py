"""One Hydra job: build the variant, train, test, time, and write its result record.

A selection job (`test=false`, the width search's trials) validates instead of testing: the test
split is neither scored nor timed, and its record is filed apart from the table's rows."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytorch_lightning as pl
import torch
from lightning_fabric.utilities.exceptions import MisconfigurationException
from omegaconf import OmegaConf

from fcn_ablation import results_layout
from fcn_ablation.config import datasets, experiments, instantiate, rows
from fcn_ablation.config.checks import validate
from fcn_ablation.config.rows import BASELINE, training_epochs
from fcn_ablation.config.schema import OptimizerConfig, SpeedConfig, TrainSpeedConfig
from fcn_ablation.config.settings_key import settings_key
from fcn_ablation.data.datamodule import SaliencyDataModule, written_split_hash, written_split_id
from fcn_ablation.data.pairs import upright_size
from fcn_ablation.data.splits import split_id
from fcn_ablation.errors import ConfigError, Diverged
from fcn_ablation.evaluation.maps import method_name
from fcn_ablation.evaluation.registry import HEADLINE, METRICS
from fcn_ablation.evaluation.timing import best_benchmarked, device_label, time_forward
from fcn_ablation.files import check_writable, checked_results_dir
from fcn_ablation.machine import on_cuda
from fcn_ablation.models.choices import InitSource
from fcn_ablation.models.cost import model_cost
from fcn_ablation.models.fast import compilations, set_tf32
from fcn_ablation.models.fcn8s import FCN8s
from fcn_ablation.models.model_file import ModelFile, save_model
from fcn_ablation.models.widths import build_widths, changed_layers
from fcn_ablation.store import filing, tested
from fcn_ablation.store.job_entry import JobEntry, write_job_file
from fcn_ablation.store.locks import job_lock
from fcn_ablation.store.record import Record, optimizer_name
from fcn_ablation.training.cpu_budget import apply_cpu_budget
from fcn_ablation.training.initialise import effective_source, initialise, input_space, start_checkpoint
from fcn_ablation.training.loggers import closed_on_failure, finish_logger, make_logger, settle_mode
from fcn_ablation.training.module import SaliencyModule
from fcn_ablation.training.signals import cluster_plugins, lightning_interrupts, requeueable, terminable
from fcn_ablation.training.supervision import DivergenceGuard, SaveLast, fit
from fcn_ablation.training.testing import (
    data_modules_to_test,
    evaluate_stored,
    grid_names,
    other_test_sections,
    per_image_arrays,
    score_on_set,
    tester,
)

log = logging.getLogger(__name__)


def typical_test_hw(dataset, eval_size=None) -> list[int]:
    """The (height, width) the network sees test images at: `eval_size` where they are resized to it,
    else the most common native size of the set's images (where its detection time is typical)."""
    from collections import Counter

    if eval_size is not None:
        return [int(v) for v in eval_size]
    sizes = Counter(upright_size(pair.image) for pair in dataset.pairs[:200])
    return list(sizes.most_common(1)[0][0])


def widths_from_config(cfg) -> tuple[dict[str, float], dict[str, int]]:
    factors = experiments.factors(cfg.experiment)
    return factors, build_widths(factors, cfg.model.width_multiplier)


def check_trainer(trainer_cfg) -> None:
    """Every `trainer.*` key must be an argument of Lightning's `Trainer` (a forced `+trainer.x=...`
    can add any) and every value one it accepts (precision, accelerator, devices): checked at
    start-up, before any work, by building one, with the closest real name for a wrong key."""
    instantiate.check_arguments("trainer", pl.Trainer, trainer_cfg, what="pytorch_lightning.Trainer")
    try:
        pl.Trainer(
            **OmegaConf.to_container(trainer_cfg), logger=False, enable_checkpointing=False, plugins=cluster_plugins()
        )
    except (TypeError, ValueError, MisconfigurationException) as err:
        raise ConfigError(f"trainer: {err}; fix the trainer.* setting it names") from None


def check_paths(paths) -> None:
    """The results and cache folders exist or can be made, and take files: checked before any work
    (a read-only cache would otherwise fail after the data set's generation)."""
    # the folder, and where the job files its record and keeps its checkpoints
    checked_results_dir(paths.results_dir, results_layout.STORE, results_layout.CHECKPOINTS)
    cache = Path(paths.cache_dir).expanduser()
    try:
        check_writable(cache, "paths.cache_dir", " (or the FCN_ABLATION_CACHE environment variable)")
    except ConfigError:
        if not cache.is_dir():
            raise
        # A shared, read-only cache that already holds what the job reads is used as it is; a job
        # that must add to it (a set not generated yet, new split files) stops there, in one line.
        log.warning("paths.cache_dir=%s is read-only to you: used as it is", cache)


@dataclass(frozen=True)
class JobPlan:
    """What a job is, resolved once from its config and handed down: its identity, widths, its
    training budget and where its weights start."""

    name: str  # `filing.job_name`: the store's file names and the job's lock start with it
    experiment: str
    width_multiplier: float
    factors: dict
    widths: dict
    same_widths_as_baseline: bool  # a variant whose widths round to the baseline's
    epochs: int  # the training budget (`config.rows.training_epochs`)
    start: InitSource  # where the weights start (`config.rows.effective_start`)


def plan_job(cfg) -> JobPlan:
    factors, widths = widths_from_config(cfg)
    baseline = rows.is_baseline(changed_layers(factors))
    return JobPlan(
        name=filing.job_name(cfg),
        experiment=cfg.experiment.name,
        width_multiplier=cfg.model.width_multiplier,
        factors=factors,
        widths=widths,
        # a tiny `model.width_multiplier` makes every layer 1 channel: the row measures nothing new
        same_widths_as_baseline=not baseline and widths == build_widths({}, cfg.model.width_multiplier),
        epochs=training_epochs(cfg.init, cfg.trainer.max_epochs, baseline),
        start=effective_source(cfg.init, baseline),
    )


def warn_if_same_as_baseline(job: JobPlan) -> bool:
    """Say so before training a variant whose widths round to the baseline's."""
    if job.same_widths_as_baseline:
        log.warning(
            "experiment %s: at model.width_multiplier=%g its widths round to the baseline's; its row will equal the "
            "baseline's (raise the multiplier to tell them apart)", job.experiment, job.width_multiplier,
        )  # fmt: skip
    return job.same_widths_as_baseline


def optimizer_config(optimizer, start: InitSource):
    """The `optimizer` section, typed, at the learning rate for where the weights start (`lr_by_start`)."""
    opt = instantiate.typed(optimizer, OptimizerConfig, "optimizer")
    opt.lr = float(opt.lr_by_start.get(InitSource(start).value, opt.lr))
    return opt


def make_module(
    net: FCN8s, optimizer, keep_maps: tuple[str, ...] = (), speed: TrainSpeedConfig | None = None
) -> SaliencyModule:
    """The LightningModule that trains `net` as the typed `optimizer` section says (`optimizer_config`),
    with the training fast paths of `speed` (the `train_speed` section)."""
    speed = speed or TrainSpeedConfig()
    make_optimizer = instantiate.partial(optimizer, OptimizerConfig)
    if speed.fused_optimizer and "fused" in inspect.signature(make_optimizer.func).parameters:
        make_optimizer = functools.partial(make_optimizer, fused=True)
    return SaliencyModule(
        net,
        make_optimizer,
        loss_reduction=optimizer.loss_reduction,
        bias_lr_mult=optimizer.bias_lr_mult,
        schedule=optimizer.schedule,
        keep_maps=keep_maps,
        channels_last=bool(speed.channels_last),
        skip_zeros=bool(speed.skip_zeros),
        compile=bool(speed.compile),
        compile_mode=str(speed.compile_mode),
        size_bucket=int(speed.size_bucket),
    )


def speed_options(timing, bench_dir: Path, hw: tuple[int, int], width_multiplier: float, device,
                  sizes: int = 1) -> tuple[SpeedConfig, str]:  # fmt: skip
    """The detection timing's speed options and where they come from: the `timing` section ("config"),
    or, with `timing.best_benchmarked`, the fastest options a benchmark under `bench_dir` found on
    `device` at input size `hw` and `width_multiplier` (its bench.csv).
    A benchmark's best with `compile` is taken without it when the timed images come in `sizes` > 1
    sizes (native test sets): a compiled graph per size would cost tens of seconds each."""
    speed = SpeedConfig.of(timing)
    if not timing.best_benchmarked:
        return speed, "config"
    found = best_benchmarked(bench_dir, device, speed.precision, hw[0], hw[1], width_multiplier, speed.tf32)
    if found is None:
        log.warning(
            "timing.best_benchmarked: no benchmark of this device at %s, %dx%d, width %g under %s; timing with the "
            "configured options. Run: fcn-ablation-bench -m channels_last=false,true compile=false,true "
            "precision=%s width_multiplier=%g", speed.precision.value, hw[1], hw[0],
            width_multiplier, bench_dir, speed.precision.value, width_multiplier,
        )  # fmt: skip
        return speed, "config"
    best, source = found
    if best.compile and sizes > 1:
        log.info("timing: the benchmark's fastest options compile; the %d image sizes timed here would each compile, so "
                 "the timing pass runs them eagerly (%s)", sizes, source)  # fmt: skip
        return dataclasses.replace(best, compile=False), f"{source} (eager: {sizes} image sizes)"
    return best, str(source)


def stored_record(cfg) -> Path | None:
    """This job's record when its table's store holds it already (`rerun=false`), told from the
    config and the written split files alone, without the data set or any training set-up: what a
    launcher reads to leave a sweep's finished jobs out before starting them. None where that
    cannot be told here (split files not written yet, `dataset.split.new_pairs=add`, a config the
    job itself will refuse): the job then starts and decides, as `run` does."""
    if cfg.rerun:
        return None
    try:
        split_hash = written_split_hash(cfg.dataset, cfg.paths.cache_dir)
        if split_hash is None:
            return None
        done = filing.done_record(
            results_layout.store_dir(cfg.paths.results_dir, cfg.dataset.name, settings_key(cfg, split_hash)),
            filing.job_name(cfg),
            cfg.experiment.name,
            bool(cfg.test),
            cfg,
        )
        others = other_test_sections(cfg.dataset, cfg.test_on, cfg.test_data) if cfg.test else {}
        return (
            done if done is None or tested_everywhere(others, cfg.paths.cache_dir, filing.read_record(done)) else None
        )
    except Exception as err:  # noqa: BLE001 - a bad config or store: the job starts and says what is wrong, in one line
        log.debug("a job not known to be done before it starts (%s: %s)", type(err).__name__, err)
        return None


def tested_everywhere(others: dict, cache_dir: str, record: Record) -> bool:
    """Whether a done job's record has a result on every other set of `test_on` (`others`: {name:
    section}), tested on the split files written there now (a set not split yet, or changed, is
    not: the job starts and tests it)."""
    for name, section in others.items():
        split = written_split_id(section, cache_dir)
        if split is None or tested.done_on(record, name, split) is None:
            return False
    return True


def run(cfg, output_dir: Path, group: str | None = None) -> Record:
    """One job: skip it when the store holds it already (unless `rerun`), make sure the baseline
    it starts from exists (`init=baseline`), then train and measure it. Returns its record; the
    job folder's `job.json` says where the record lies in the store and whether it was skipped
    (the record's `path` too)."""
    validate(cfg)
    check_trainer(cfg.trainer)
    check_paths(cfg.paths)
    job = plan_job(cfg)
    warn_if_same_as_baseline(job)
    if cfg.train_speed.compile and not cfg.train_speed.size_bucket:
        log.warning(
            "train_speed.compile=true without train_speed.size_bucket: one compilation per training image size "
            "(tens of seconds each); with images of many sizes set train_speed.size_bucket=32"
        )
    if cfg.trainer.get("benchmark") and not cfg.train_speed.size_bucket and cfg.dataset.resize_mode == "native":
        log.warning(
            "trainer.benchmark=true at native sizes: cuDNN's autotuner runs again for every new image size; use it "
            "with train_speed.size_bucket or dataset.resize_mode=resize|pad, where sizes repeat"
        )
    settle_mode(cfg.logger)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    _, cfg.dataset.num_workers = apply_cpu_budget(cfg.dataset.num_workers)  # the record says what ran
    data = SaliencyDataModule.for_trainer(
        cfg.dataset, cfg.paths.cache_dir, cfg.trainer.accelerator, cfg.trainer.enable_progress_bar
    )
    data.prepare_data()
    data.setup()
    others = data_modules_to_test(  # the other test sets: checked now, not after the training
        other_test_sections(cfg.dataset, cfg.test_on, cfg.test_data) if cfg.test else {},
        cfg.paths.cache_dir, cfg.trainer.accelerator, cfg.trainer.enable_progress_bar,
    )  # fmt: skip
    split_hash = data.summary()["split_hash"]
    store = results_layout.store_dir(cfg.paths.results_dir, cfg.dataset.name, settings_key(cfg, split_hash))
    name = job.name
    with terminable(), requeueable(), job_lock(store, name):
        done = filing.done_record(store, name, job.experiment, bool(cfg.test), cfg)
        if done is not None and not cfg.rerun:
            log.info("%s: done already (%s); skipped (rerun=true trains it again)", name, done)
            print(f"skipped {name}: its record is {done} (rerun=true trains it again)")
            _write_job(output_dir, name, store, cfg.paths.results_dir, bool(cfg.test), done, skipped=True)
            record = filing.read_record(done)
            _test_done_job(cfg, record, others)
            return record
        ckpt_dir = results_layout.checkpoint_dir(cfg.paths.results_dir, cfg.dataset.name, store.name, name)
        try:
            if job.start is InitSource.baseline:
                _ensure_baseline(cfg, data, others, store, output_dir, group)
            record, path = _train(cfg, job, data, others, store, output_dir, group, ckpt_dir)
        except Diverged as err:  # the job folder says so; the end-of-sweep report lists it
            _write_job(
                output_dir, name, store, cfg.paths.results_dir, bool(cfg.test), None, skipped=False, diverged=str(err)
            )
            raise
        _write_job(output_dir, name, store, cfg.paths.results_dir, bool(cfg.test), path, skipped=False)
        return dataclasses.replace(record, path=path)


def _write_job(output_dir: Path, name: str, store: Path, results_dir: str, test: bool, record_path: Path | None,
               skipped: bool, diverged: str | None = None) -> None:  # fmt: skip
    """`job.json` in the job's folder: which stored record this job stands for (the end-of-sweep
    report finds its tables through these); a diverged job's has no record and says why. `store`:
    the job's table's store (its data set and settings key)."""
    dataset, key = results_layout.table_of(
        results_layout.store_of_record(record_path) if record_path is not None else store
    )
    write_job_file(output_dir, JobEntry(
        job=name, dataset=dataset, settings_key=key,
        record=filing.relative_to(record_path, results_dir) if record_path is not None else None,
        skipped=skipped, test=test, diverged=diverged or None,
    ))  # fmt: skip


def baseline_config(cfg):
    """`cfg` retargeted at the baseline experiment (same settings, initialisation and seed)."""
    import copy

    base = copy.deepcopy(cfg)
    base.experiment = experiments.load(BASELINE)
    return base


def _test_done_job(cfg, record: Record, others: dict) -> None:
    """A done job asked to test on sets its record has no result on (`test_on` grew since it ran):
    test its stored weights on each, as `fcn-ablation-evaluate` would, instead of training again."""
    trainer = None
    for name, dm in others.items():
        if tested.done_on(record, name, split_id(dm.summary())) is not None:
            continue
        trainer = trainer or tester(cfg.trainer.accelerator, bool(cfg.trainer.enable_progress_bar))
        section = OmegaConf.to_container(dm.cfg, resolve=True, enum_to_str=True)
        path, _ = evaluate_stored(record, name, dm, trainer, cfg.paths.results_dir, cfg.report.grid_images,
                                  {"by": "job", "test_on": name, "dataset": section}, rerun=True)  # checked above  # fmt: skip
        print(f"tested {record.job} on {name}: {path}")


def _ensure_baseline(cfg, data, others: dict, store: Path, output_dir: Path, group: str | None) -> None:
    """Under a parallel launcher the variants of an `init=baseline` sweep may start before its
    baseline is trained: the first to need it trains it (holding the baseline job's lock, which the
    sweep's own baseline job also takes), the others wait for that lock and then find it."""
    start = InitSource(cfg.init.baseline_from).value
    if filing.reference_baseline(store, cfg.paths.results_dir, start, cfg.seed) is not None:
        return
    base = baseline_config(cfg)
    base.test = True  # the reference is a row of the table, whatever the job that needed it (a search's trial)
    plan = plan_job(base)  # the baseline's identity, worked out once
    name = plan.name
    with job_lock(store, name):
        if filing.reference_baseline(store, cfg.paths.results_dir, start, cfg.seed) is not None:
            return
        log.info(
            "init=baseline: no baseline of seed %d trained from %s yet; training it first (%s)", cfg.seed, start, name
        )
        base_dir = output_dir / name
        _, path = _train(base, plan, data, others, store, base_dir, group,
                         results_layout.checkpoint_dir(cfg.paths.results_dir, cfg.dataset.name, store.name, name))  # fmt: skip
        _write_job(base_dir, name, store, cfg.paths.results_dir, True, path, skipped=False)


def _train(cfg, job: JobPlan, data, others: dict, store: Path, output_dir: Path, group: str | None,
           ckpt_dir: Path) -> tuple[Record, Path]:  # fmt: skip
    """Train and measure the job `job` (of `cfg`), test it on its own test split (when `test_on`
    names it, or is empty) and on every other set of `others` ({name: data module}); returns the
    record (also written to `output_dir/record.json`) and where the store filed it."""
    output_dir.mkdir(parents=True, exist_ok=True)
    pl.seed_everything(cfg.seed, workers=True)
    widths = job.widths
    net = FCN8s(widths, cfg.model.num_classes, cfg.model.dropout, cfg.model.learn_upsampling, cfg.model.at_once_scaling)
    checkpoint = start_checkpoint(cfg.init, job.start, store, cfg.paths.results_dir, cfg.seed)
    init_info = initialise(net, job.start, cfg.init, input_space(cfg.dataset), checkpoint)
    own = bool(cfg.test) and cfg.dataset.name in datasets.sets_tested_on(cfg.test_on, cfg.dataset.name)
    grid = grid_names(data, cfg.report.grid_images) if own else ()
    optimizer = optimizer_config(cfg.optimizer, job.start)
    module = make_module(net, optimizer, keep_maps=tuple(grid), speed=cfg.train_speed)
    if on_cuda(cfg.trainer.accelerator):
        set_tf32(cfg.train_speed.tf32)

    logger = make_logger(cfg, output_dir, group)
    with closed_on_failure(logger):  # a diverged, interrupted or failed job's W&B run ends here, as failed
        trainer = pl.Trainer(  # its settings were checked at start-up (`check_trainer`)
            **{**OmegaConf.to_container(cfg.trainer), "max_epochs": job.epochs},
            logger=logger if logger is not None else False,
            default_root_dir=str(output_dir),
            enable_checkpointing=False,  # ours: SaveLast, named after the job, for resuming
            callbacks=[
                DivergenceGuard(cfg.trainer.log_every_n_steps, job.name, optimizer.lr, cfg.trainer.precision),
                SaveLast(ckpt_dir),  # after the guard: a diverged epoch is never saved
                *progress_bar(cfg.trainer),
            ],
            plugins=cluster_plugins(),
        )
        t0, graphs = time.perf_counter(), compilations()
        try:
            resumed = fit(trainer, module, data, ckpt_dir)
        except Diverged:
            shutil.rmtree(ckpt_dir, ignore_errors=True)  # the same settings diverge again: nothing worth resuming
            raise
        train_s, graphs = time.perf_counter() - t0, compilations() - graphs
        if trainer.global_step == 0:
            log.warning(
                "%s: nothing was trained (trainer.max_epochs=%s, trainer.max_steps=%s); the record holds the starting "
                "weights' scores and says untrained: true", cfg.experiment.name, trainer.max_epochs, trainer.max_steps,
            )  # fmt: skip
        # A selection job (`test=false`) never touches the test split: scored and timed on validation.
        method = method_name(
            job.experiment, filing.label_of_row(init_info["tag"], job.epochs, cfg.trainer.max_epochs), cfg.seed
        )
        maps = (
            (lambda name: results_layout.maps_dir(cfg.maps_dir, method, name)) if cfg.maps_dir else (lambda name: None)
        )
        with lightning_interrupts(trainer, "testing the trained weights", f"them (kept in {ckpt_dir / 'last.ckpt'})"):
            module.save_maps_to = maps(cfg.dataset.name)
            test_metrics = trainer.test(module, datamodule=data, verbose=False)[0] if own else {}
            module.save_maps_to = None
            arrays = per_image_arrays(module) if own else {}
            test_sets = {}
            for set_name, dm in others.items():  # the other sets of `test_on`
                test_sets[set_name], set_arrays = score_on_set(trainer, module, dm, set_name, cfg.report.grid_images,
                                                               maps(set_name))  # fmt: skip
                arrays.update(tested.prefixed(set_name, set_arrays))
            # The validation split's scores of the final weights: what a search may select on (never the test's).
            val_metrics = trainer.validate(module, datamodule=data, verbose=False)[0] if len(data.val_set) else {}

        device = trainer.strategy.root_device
        timed = (data.test_set if own else next(iter(others.values())).test_set) if cfg.test else data.val_set
        n_time = cfg.timing.max_images or len(timed)
        images = (data.normalise(timed[i]["image"]) for i in range(min(n_time, len(timed))))
        sizes = len({upright_size(p.image) for p in timed.pairs[:n_time]}) if cfg.timing.best_benchmarked else 1
        speed, speed_from = speed_options(cfg.timing, results_layout.bench_root(cfg.paths.results_dir), (cfg.cost.height, cfg.cost.width),
                                          cfg.model.width_multiplier, device, sizes)  # fmt: skip
        timing = time_forward(net, images, device, warmup=cfg.timing.warmup, opts=speed)

        params, macs = model_cost(widths, cfg.cost.height, cfg.cost.width, cfg.model.num_classes)
        record = Record(
            experiment=job.experiment,
            job=job.name,
            description=cfg.experiment.description,
            dataset=cfg.dataset.name,
            preset=cfg.preset,
            recipe=cfg.recipe,
            init_tag=init_info["tag"],
            init=init_info,
            settings_key=store.name,  # the job's table: computed once, in `run`
            seed=cfg.seed,
            changed_layers=changed_layers(job.factors),
            factors={k: v for k, v in job.factors.items() if v != 1.0},
            width_multiplier=cfg.model.width_multiplier,
            widths=widths,
            params=params,
            macs=macs,
            cost_input_hw=[cfg.cost.height, cfg.cost.width],
            test=bool(cfg.test),
            scores={k: test_metrics[f"test/{k}"] for k in METRICS if f"test/{k}" in test_metrics},
            val_scores={k: val_metrics[f"val/{k}"] for k in METRICS if f"val/{k}" in val_metrics},
            test_image_hw=typical_test_hw(timed, cfg.dataset.get("eval_size")),
            detection_total_s=timing.total_s,
            detection_ms_per_image=timing.ms_per_image,
            detection_images=timing.n_images,
            detection_load_s=timing.load_s,
            detection_settings=speed.slug(),
            detection_settings_from=speed_from,
            lr=optimizer.lr,
            table_lr=cfg.optimizer.lr,
            optimizer=optimizer_name(OmegaConf.to_container(cfg.optimizer, resolve=True)),
            batch_size=cfg.dataset.batch_size,
            epochs=job.epochs,
            table_epochs=cfg.trainer.max_epochs,
            train_s=train_s,
            train_steps=trainer.global_step,
            train_compilations=graphs,  # graphs torch.compile built for training (train_speed.compile)
            untrained=trainer.global_step == 0,
            same_widths_as_baseline=job.same_widths_as_baseline,
            resumed_from=resumed,
            test_images=len(data.test_set) if own else 0,
            data=data.summary(),
            test_sets=test_sets,
            device=device_label(device),
            torch=torch.__version__,
            output_dir=filing.relative_to(output_dir, cfg.paths.results_dir),
            created=filing.timestamp(),
            config=OmegaConf.to_container(cfg, resolve=True, enum_to_str=True),
        )
        if cfg.save_checkpoint:
            weights = save_model(
                output_dir / results_layout.MODEL_FILE,
                ModelFile(widths=widths, state_dict=net.state_dict(), config=record.config),
            )
            record = dataclasses.replace(record, weights_sha256=filing.file_digest(weights))
            if Path(record.output_dir).is_absolute():  # `store.filing.inside`: never read back from out there
                log.warning("%s: the job folder lies outside the results folder %s, so its weights are never read back "
                            "(evaluate, reference baselines); keep hydra.run.dir under paths.results_dir",
                            output_dir, cfg.paths.results_dir)  # fmt: skip
        filing.write_json(output_dir / results_layout.RECORD_FILE, record.to_json())
        arrays = arrays if cfg.test else None
        if arrays is not None:
            filing.write_arrays(output_dir / results_layout.PER_IMAGE_FILE, arrays)
        path = filing.file_record(record, cfg.paths.results_dir, arrays)
        shutil.rmtree(ckpt_dir, ignore_errors=True)  # done: the store has the record, the job folder the weights
        finish_logger(logger, record)
        split = ("test" if own else f"{next(iter(others))} test") if cfg.test else "validation (a selection job)"
        log.info(
            "%s (%s): %s max F %.4f, MAE %.4f, detection %.2f ms/image over %d images, %.1f M params, %.2f G MACs",
            record.experiment, record.init_tag, split, record.headline[HEADLINE], record.headline["mae"], timing.ms_per_image,
            timing.n_images, params / 1e6, macs / 1e9,
        )  # fmt: skip
        return record, path


def progress_bar(trainer_cfg) -> list:
    """Lightning's bar, refreshed every `log_every_n_steps` steps: each refresh reads the loss off
    the device (a host-device synchronisation), which at every step would stall a GPU's queue."""
    from pytorch_lightning.callbacks import TQDMProgressBar

    return (
        [TQDMProgressBar(refresh_rate=max(1, int(trainer_cfg.log_every_n_steps)))]
        if trainer_cfg.enable_progress_bar
        else []
    )
