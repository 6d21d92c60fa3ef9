"""Where a run's weights start: scratch, ImageNet VGG16, a checkpoint, or the trained baseline.

`init=baseline` is how the paper made its variants: take the trained FCN-8s of the same data
set and settings (the newest in the results store), cut the thinned layers down with
`init.rule`, and fine-tune. The baseline experiment itself starts from `init.baseline_from`,
so one sweep `experiment=baseline,a,...,h` trains the baseline first, then every variant from it.
"""

from __future__ import annotations

from pathlib import Path

from fcn_ablation.config.rows import effective_start
from fcn_ablation.data.choices import ChannelOrder
from fcn_ablation.errors import DataError
from fcn_ablation.models.arch import WIDTH_LAYERS
from fcn_ablation.models.choices import InitSource, TransferRule
from fcn_ablation.models.fcn8s import FCN8s
from fcn_ablation.models.model_file import load_model
from fcn_ablation.models.transfer import transfer
from fcn_ablation.models.vgg16 import TORCHVISION_INPUT, fold_input, load_vgg16
from fcn_ablation.store import filing


def input_space(ds) -> dict:
    return {"channel_order": ChannelOrder(ds["channel_order"] if "channel_order" in ds else "rgb").value,
            "mean": [float(m) for m in ds["mean"]], "std": [float(s) for s in ds["std"]]}  # fmt: skip


def effective_source(init, is_baseline: bool) -> InitSource:
    """Where the weights of a job with the `init` section start (`config.rows.effective_start`)."""
    return InitSource(effective_start(init.source, init.baseline_from, is_baseline))


def initialise(net: FCN8s, start: InitSource, init, target: dict, checkpoint: Path | None = None) -> dict:
    """Load the starting weights into `net`: from `start` (resolved once by the job: `effective_source`),
    with the `init` section's rule, seed and ImageNet source, the checkpoint at `checkpoint` (for
    `checkpoint` and `baseline`), its input space folded to the data set's (`target`, `input_space`).
    Returns what the record says of them."""
    if start is InitSource.scratch:
        return {"source": InitSource.scratch.value, "tag": InitSource.scratch.value}
    if start is InitSource.imagenet:
        state, origin = load_vgg16(init.path, init.url)
        fold_input(state, TORCHVISION_INPUT, target)
    else:
        state, origin, space = _read_checkpoint(Path(checkpoint).expanduser())
        if space != target:
            fold_input(state, space, target)
    rule = TransferRule(init.rule).value
    if start is InitSource.imagenet:
        net.zero_scorers()  # VGG16 has none; a trained FCN's come with it (below)
    kept = transfer(state, net, rule, init.seed)
    narrowed = [n for n in WIDTH_LAYERS if len(kept[n]) < state[f"{n}.bias"].shape[0]]
    return {
        "source": start.value,
        "origin": origin,
        "rule": rule,
        "seed": init.seed,
        "narrowed_layers": narrowed,
        "tag": f"{rule} from {start.value}" if narrowed else start.value,
    }


def start_checkpoint(init, start: InitSource, store: Path, results_dir: str | Path, seed: int) -> Path | None:
    """The checkpoint a job of source `start` starts from: `init.path`, or the baseline of its seed
    in its table's `store` (`find_baseline`); None for scratch and ImageNet."""
    if start is InitSource.checkpoint:
        return Path(init.path).expanduser()
    if start is InitSource.baseline:
        return find_baseline(store, results_dir, InitSource(init.baseline_from).value, seed)
    return None


def _read_checkpoint(path: Path) -> tuple[dict, str, dict]:
    try:
        model = load_model(path, "not a checkpoint this project wrote")
    except FileNotFoundError as err:
        raise DataError(f"{path}: checkpoint not found (init.path)") from err
    if not isinstance(model.config.get("dataset"), dict):
        raise DataError(f"{path}: not a checkpoint this project wrote (its config names no dataset)")
    return model.state_dict, str(path), input_space(model.config["dataset"])


def find_baseline(store: Path, results_dir: str | Path, start: str, seed: int) -> Path:
    """The newest checkpoint of a baseline in the table's `store` (same data set, settings and
    split) of `seed`, trained from `start` for the full budget (`is_reference_baseline`).
    Seed-matched, so that a variant of seed s and the baseline of seed s form a pair."""
    found = filing.reference_baseline(store, results_dir, start, seed)
    if found is None:
        raise DataError(
            f"init=baseline: no baseline trained from {start} with these settings and seed={seed} in {store}; "
            f"train it first with: python -m fcn_ablation {_baseline_command(seed)}"
        )
    return found


def _baseline_command(seed: int) -> str:
    """This job's command-line overrides, retargeted at the baseline of its seed."""
    try:
        from hydra.core.hydra_config import HydraConfig

        task = list(HydraConfig.get().overrides.task)
    except ValueError:  # not under Hydra
        task = []
    keep = [
        o
        for o in task
        if not o.lstrip("+~").startswith(("experiment=", "init.rule=", "init.seed=", "init.epochs=", "seed="))
    ]
    return " ".join([*keep, "experiment=baseline", f"seed={seed}"])
