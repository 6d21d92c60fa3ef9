"""Testing a trained network on test sets: its own split, the other sets of a job's `test_on`, and
later on any set (`fcn-ablation-evaluate`), all through one function (`score_on_set`), so a number
from a job and one from a later evaluation of the same weights on the same set are the same test.

Every test set is set up before any training (`data_modules_to_test`): a missing ECSSD folder is an
error at start-up, not after hours of training. A set is seen in the training set's input space
(`config.datasets.section_of_test_set`) and at each image's native size, as the own test split is.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytorch_lightning as pl
from omegaconf import OmegaConf

from fcn_ablation import results_layout
from fcn_ablation.config import datasets
from fcn_ablation.config.schema import ModelConfig
from fcn_ablation.data.datamodule import SaliencyDataModule
from fcn_ablation.data.splits import split_id
from fcn_ablation.errors import DataError, why_unreadable
from fcn_ablation.evaluation.maps import method_name
from fcn_ablation.evaluation.metrics import stored_arrays
from fcn_ablation.evaluation.registry import METRICS
from fcn_ablation.models.fcn8s import FCN8s
from fcn_ablation.models.model_file import load_model
from fcn_ablation.store import filing, tested
from fcn_ablation.store.record import Record, SetEntry
from fcn_ablation.training.module import SaliencyModule
from fcn_ablation.training.signals import cluster_plugins

log = logging.getLogger(__name__)


def per_image_arrays(module: SaliencyModule) -> dict:
    """The last test's values as a record's `.npz` holds them: every image's metric values under
    its name, the mean curves (`curve/<name>`: precision, recall, F, E over the 256 thresholds) and
    the kept 8-bit maps (`map/<name>`)."""
    out = stored_arrays(module.test_names, {k: v.numpy() for k, v in module.test_per_image.items()})
    for name, m in module.test_maps.items():
        out[f"map/{name}"] = m.numpy()
    return out


def other_test_sections(cfg_dataset, test_on, test_data) -> dict:
    """{name: `dataset` section} of the sets in `test_on` other than the training set itself."""
    overrides = OmegaConf.to_container(test_data, resolve=True) if test_data is not None else {}
    return {name: datasets.section_of_test_set(cfg_dataset, name, overrides.get(name))
            for name in datasets.sets_tested_on(test_on, cfg_dataset.name) if name != cfg_dataset.name}  # fmt: skip


def data_modules_to_test(sections: dict, cache_dir: str, accelerator: str, progress: bool,
                      key: str | None = "test_data") -> dict[str, SaliencyDataModule]:  # fmt: skip
    """Each test set's data module, its files found (or generated, or fetched), checked and split.
    A failure names the set's keys as `key.NAME.*` (a job's `test_data.ecssd.root`); `key=None`:
    as `dataset.*` (the set is the command's own `dataset`, as in `fcn-ablation-evaluate`)."""
    out = {}
    for name, section in sections.items():
        dm = SaliencyDataModule.for_trainer(section, cache_dir, accelerator, progress)
        try:
            dm.prepare_data()
            dm.setup()
        except DataError as err:  # its hints name the job's own `dataset.*` keys: name this set's instead
            if key is None:
                raise
            # `++`: adds the key where the config has none (`test_data` is empty by default), sets it where it has
            raise DataError(f"test_on={name}: {str(err).replace('dataset.', f'++{key}.{name}.')}") from None
        if not len(dm.test_set):
            raise DataError(f"test_on={name}: {dm.split_dir}/test.txt lists no usable test image; test on another set")
        out[name] = dm
    return out


def grid_names(dm: SaliencyDataModule, n: int) -> tuple[str, ...]:
    """The test images whose maps a record keeps for the report's map grid: the first `n` by name."""
    return tuple(sorted(p.stem for p in dm.test_set.pairs)[:n])


def score_on_set(trainer: pl.Trainer, module: SaliencyModule, dm: SaliencyDataModule, name: str,
                grid_images: int, maps_to: Path | None = None) -> tuple[SetEntry, dict]:  # fmt: skip
    """Test `module`'s network on set `name` (its data module `dm`): the `test_sets` entry
    (`store.tested.entry`) and the per-image arrays (`per_image_arrays`). Logged as `test/<name>/...`.
    `maps_to`: a folder every map is also saved to, as `<image stem>.png` (`evaluation.maps`)."""
    before = module.test_prefix, module.keep_maps, module.save_maps_to
    module.test_prefix, module.keep_maps = f"test/{name}", set(grid_names(dm, grid_images))
    module.save_maps_to = maps_to
    try:
        metrics = trainer.test(module, datamodule=dm, verbose=False)[0]
    finally:
        module.test_prefix, module.keep_maps, module.save_maps_to = before
    scores = {k: metrics[f"test/{name}/{k}"] for k in METRICS if f"test/{name}/{k}" in metrics}
    section = OmegaConf.to_container(dm.cfg, resolve=True, enum_to_str=True)
    return tested.entry(scores, len(dm.test_set), dm.summary(), section), per_image_arrays(module)


# ----------------------------------------------------------------------------- stored models
def load_trained(record: Record, results_dir: str | Path) -> FCN8s:
    """The network a stored record trained, from the `model.pt` in its job folder: inside the
    results folder, and the very file it scored (`store.filing.weights_of`)."""
    path = filing.weights_of(record, results_dir)
    known = {f.name for f in dataclasses.fields(ModelConfig)}  # the schema's defaults where an older record is silent
    m = ModelConfig(**{k: v for k, v in record.config.get("model", {}).items() if k in known})
    net = FCN8s(record.widths, m.num_classes, m.dropout, m.learn_upsampling, m.at_once_scaling)
    state = load_model(path, "not the weights of this record").state_dict
    try:
        net.load_state_dict(state)
    except Exception as err:  # noqa: BLE001 - other widths, another project's tensors: one verdict
        raise DataError(f"{path}: not the weights of this record ({why_unreadable(err)})") from None
    return net.eval()


def tester(accelerator: str, progress: bool) -> pl.Trainer:
    """A Trainer that only tests: no logger, no checkpoints."""
    return pl.Trainer(accelerator=accelerator, devices=1, logger=False, enable_checkpointing=False,
                      enable_progress_bar=progress, enable_model_summary=False, plugins=cluster_plugins())  # fmt: skip


def evaluate_stored(record: Record, name: str, dm: SaliencyDataModule, trainer: pl.Trainer, results_dir: str | Path,
                    grid_images: int, config: dict, rerun: bool = False,
                    maps_dir: str | Path | None = None) -> tuple[Path | None, SetEntry | None]:  # fmt: skip
    """Test a stored record's weights on set `name` and file the result beside it
    (`store.tested.file_evaluation`). Skipped, as a done job is, when the record already has a
    result on this set's split files (unless `rerun`): returns (None, that result's entry)."""
    done = tested.done_on(record, name, split_id(dm.summary()), dm.summary()["eval_input"])
    if done is not None and not rerun and maps_dir is None:  # maps asked for: scored again, saving them
        return None, done.entry()
    module = SaliencyModule(load_trained(record, results_dir), optimizer=None)
    entry, arrays = score_on_set(trainer, module, dm, name, grid_images, maps_of(maps_dir, record, name))
    return tested.file_evaluation(record, name, entry, arrays, config), entry


def maps_of(maps_dir: str | Path | None, record: Record, name: str) -> Path | None:
    """Where a record's maps of set `name` are saved under `maps_dir` (None: not saved)."""
    if maps_dir is None:
        return None
    return results_layout.maps_dir(
        maps_dir, method_name(record.experiment, filing.row_label(record), record.the_seed), name
    )
