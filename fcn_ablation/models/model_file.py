"""`model.pt`, the one type of a trained network's file: its widths, its weights and the exact config
it was trained with. Written by a job beside its record; read to score it later (`evaluate`), to
start another job from it (`init=checkpoint`, `init=baseline`). Read with `weights_only=True`: a
file holding anything but tensors and plain values runs nothing and is refused in one line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fcn_ablation.errors import DataError, why_unreadable
from fcn_ablation.files import atomic_torch_save


@dataclass(frozen=True)
class ModelFile:
    widths: dict  # {layer: output channels}, as `models.widths.build_widths` made them
    state_dict: dict  # the network's tensors
    config: dict  # the job's whole config, resolved (its `dataset` section: the input space it expects)


def save_model(path: str | Path, model: ModelFile) -> Path:
    """Write `model` to `path`, atomically (`files.atomic_torch_save`)."""
    return atomic_torch_save({"widths": model.widths, "state_dict": model.state_dict, "config": model.config}, path)


def load_model(path: str | Path, what: str = "not a model.pt this project wrote") -> ModelFile:
    """The model file at `path`; a missing file is `FileNotFoundError` (the caller names the setting),
    any other failure a `DataError`: `<path>: <what> (<why>)`."""
    import torch

    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
        return ModelFile(
            widths=dict(data.get("widths") or {}), state_dict=data["state_dict"], config=dict(data["config"])
        )
    except FileNotFoundError:
        raise
    except Exception as err:  # noqa: BLE001 - cut short, another program's file, a crafted one: one verdict
        raise DataError(f"{path}: {what} ({why_unreadable(err)})") from None
