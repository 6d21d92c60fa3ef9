"""`fcn-ablation-evaluate dataset=NAME models=[...]` (`python -m fcn_ablation.evaluate`): score
models already in the store on a data set, no training.

Each model's weights come from its job folder (`model.pt`); it sees the set in its own training
set's input space, at native size, as a job's test does (`training.testing`). What is scored is
filed beside the record (`store.tested`), a model already scored on this set's split files is
skipped, and every table touched gets its report rebuilt, with a table and curves for the new set.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from omegaconf import OmegaConf

from fcn_ablation import results_layout
from fcn_ablation.commands.common import quiet_lightning, start
from fcn_ablation.config.folder import config_dir
from fcn_ablation.errors import ConfigError, DataError, exit_on_user_error

log = logging.getLogger(__name__)


def evaluate(cfg) -> tuple[dict[Path, list[tuple]], list[str]]:
    """Score every record `cfg.models` names on `cfg.dataset`: {table store: [(record, entry, filed
    path or None when done already)]}, and why each model that could not be scored was not (the
    others are scored all the same)."""
    from fcn_ablation.config.checks import check_dataset
    from fcn_ablation.config.datasets import INPUT_SPACE
    from fcn_ablation.store import filing, select
    from fcn_ablation.training.cpu_budget import apply_cpu_budget
    from fcn_ablation.training.testing import data_modules_to_test, evaluate_stored, tester

    check_dataset(cfg.dataset, "dataset")
    recs = select.tested_records(cfg.models, cfg.paths.results_dir, log)
    if not recs:
        raise DataError(f"models={list(cfg.models)}: no tested result record among them (selection jobs' records and "
                        "later evaluations' files are not models)")  # fmt: skip
    _, cfg.dataset.num_workers = apply_cpu_budget(cfg.dataset.num_workers)
    name = cfg.dataset.name
    trainer = tester(cfg.accelerator, bool(cfg.progress))
    modules: dict[str, object] = {}  # one data module per input space the models were trained in
    out: dict[Path, list[tuple]] = {}
    failed: list[str] = []
    size = eval_size_of(cfg.eval_size)
    for r in recs:
        space = {k: r.config.get("dataset", {}).get(k, cfg.dataset[k]) for k in INPUT_SPACE}
        if size != "trained":
            space["eval_size"] = size
        if name == r.dataset and isinstance(r.config.get("dataset", {}).get("split"), dict):
            # the set it was trained on: its own test split, never the set's default (PASCAL-S's is all of
            # it, training images included)
            space["split"] = dict(r.config["dataset"]["split"])
        tag = repr(sorted((k, repr(v)) for k, v in space.items()))
        if tag not in modules:
            section = OmegaConf.merge(cfg.dataset, space)
            found = data_modules_to_test({name: section}, cfg.paths.cache_dir, cfg.accelerator, cfg.progress, key=None)
            modules[tag] = found[name]
        dm = modules[tag]
        results_dir = filing.results_root(r, cfg.paths.results_dir)
        config = {"by": "fcn-ablation-evaluate", "dataset": OmegaConf.to_container(dm.cfg, resolve=True, enum_to_str=True),
                  "accelerator": cfg.accelerator}  # fmt: skip
        try:
            path, entry = evaluate_stored(r, name, dm, trainer, results_dir, cfg.grid_images, config, rerun=cfg.rerun,
                                          maps_dir=cfg.maps_dir)  # fmt: skip
        except DataError as err:  # no weights (save_checkpoint=false, a fresh clone), other widths: the next model
            print(f"not scored: {err}", file=sys.stderr)
            failed.append(str(err))
            continue
        verb = "scored" if path is not None else "done already"
        print(f"{verb}: {r.path.name} on {name}: max F {entry.scores.get('max_f', float('nan')):.4f} "
              f"({entry.test_images} images)")  # fmt: skip
        out.setdefault(results_layout.store_of_record(r.path), []).append((r, entry, path))
    return out, failed


def eval_size_of(value):
    """`eval_size`: "trained", None (native) or [height, width]; `ConfigError` naming the key otherwise."""
    if value in ("trained", "native", None):
        return None if value in ("native", None) else "trained"
    try:
        hw = [int(v) for v in value]
    except (TypeError, ValueError):
        hw = []
    if len(hw) != 2 or min(hw) < 1 or list(value) != hw:
        raise ConfigError(f"eval_size: trained, native or [height,width] of positive integers, got {value!r}")
    return hw


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="evaluate")
def _app(cfg) -> None:
    quiet_lightning()
    with exit_on_user_error():
        if OmegaConf.is_missing(cfg, "models") or not cfg.models:
            raise ConfigError(
                "models: nothing to score; name it: models=[TABLE_KEY|STORE_FOLDER|SWEEP_FOLDER|RECORD.json,...]"
            )
        print(
            f"scoring on dataset={cfg.dataset.name} (its test split: all of a test-only set; another set: dataset=NAME)"
        )
        done, failed = evaluate(cfg)
        for store, items in done.items():
            new = sum(1 for *_, p in items if p is not None)
            print(f"{store}: {new} of {len(items)} models scored now, {len(items) - new} were scored already")
            if cfg.report:
                from fcn_ablation.reporting.report import write_report

                out = write_report(store, results_layout.results_of_store(store) or store.parent)
                print(f"report: {out / results_layout.REPORT_MD}")
        if failed:
            raise DataError(f"{len(failed)} model(s) not scored (each named above); the first: {failed[0]}")


def main() -> None:
    start(_app)


if __name__ == "__main__":
    main()
