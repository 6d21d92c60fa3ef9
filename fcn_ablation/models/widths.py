"""Width specification: from config (base widths, per-layer factors, a global multiplier)
to the single `{layer name: output channels}` mapping every shape is derived from.

An experiment is data, not code: Table 2's row (b) is `halve: [conv2_1, conv2_2]`, a user's
own variant may add `factors: {fc7: 0.25}`. Input widths are never specified: each layer reads
what the layer before it writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from fcn_ablation.errors import ConfigError
from fcn_ablation.models.arch import BASE_WIDTHS, WIDTH_LAYERS


def layer_factors(
    halve: Iterable[str] = (), factors: Mapping[str, float] | None = None, experiment: str = ""
) -> dict[str, float]:
    """Per-layer width factor of an experiment; `halve` is shorthand for a factor of 0.5.
    Errors name the key at fault, then the experiment (`experiment.factors.fc6 (in 'my_variant')`)."""
    where = f" (in experiment {experiment!r})" if experiment else ""
    factors = dict(factors or {})
    halve = list(halve)
    for name in [*halve, *factors]:
        if name not in BASE_WIDTHS:
            raise ConfigError(
                f"experiment{where}: unknown layer {name!r}; layers that can be thinned are {', '.join(WIDTH_LAYERS)}"
            )
    both = sorted(set(halve) & set(factors))
    if both:
        raise ConfigError(f"experiment{where}: {', '.join(both)} listed in both 'halve' and 'factors'; keep one")
    out = {name: 1.0 for name in WIDTH_LAYERS}
    out.update({name: 0.5 for name in halve})
    for name, f in factors.items():
        if not isinstance(f, (int, float)) or isinstance(f, bool) or f <= 0:
            raise ConfigError(f"experiment.factors.{name}{where}: width factor must be a positive number, got {f!r}")
        out[name] = float(f)
    return out


# The fewest output channels a layer may be left with. A width that would round below it is an
# error, never silently raised to it: a multiplier of 1e-9 would otherwise file a one-channel
# network as an ordinary row.
MIN_CHANNELS = 1


def too_thin(factors: Mapping[str, float], multiplier: float) -> str | None:
    """The first layer these factors and this multiplier would leave under `MIN_CHANNELS`, said
    as `conv1_1 64 x 0.25 x 0.03125 = 0.5 channels, under the 1 every layer needs`; None if none."""
    for name in WIDTH_LAYERS:
        factor = factors.get(name, 1.0)
        exact = BASE_WIDTHS[name] * factor * multiplier
        if exact < MIN_CHANNELS:
            return (f"{name} {BASE_WIDTHS[name]} x {factor:g} x {multiplier:g} = {exact:.3g} channels, under the "
                    f"{MIN_CHANNELS} every layer needs")  # fmt: skip
    return None


def build_widths(factors: Mapping[str, float], multiplier: float = 1.0) -> dict[str, int]:
    """Output channels of every thinnable layer: base width x factor x multiplier, rounded; each
    unrounded width at least `MIN_CHANNELS`, or a `ConfigError` saying the smallest multiplier that works."""
    if not multiplier > 0:
        raise ConfigError(f"model.width_multiplier: must be positive, got {multiplier!r}")
    thin = too_thin(factors, multiplier)
    if thin:
        name = thin.split(" ", 1)[0]
        least = max(MIN_CHANNELS / (BASE_WIDTHS[n] * factors.get(n, 1.0)) for n in WIDTH_LAYERS)
        fix = (f"model.width_multiplier >= {least:.6g}" if least <= 1  # else the factor is at fault
               else f"a factor >= {MIN_CHANNELS / (BASE_WIDTHS[name] * multiplier):.6g} for {name}")  # fmt: skip
        raise ConfigError(f"model.width_multiplier={multiplier:g} leaves {thin}: use {fix}")
    return {name: round(BASE_WIDTHS[name] * factors.get(name, 1.0) * multiplier) for name in WIDTH_LAYERS}


def changed_layers(factors: Mapping[str, float]) -> list[str]:
    """Layers whose width differs from Table 1, in network order (for reports)."""
    return [name for name in WIDTH_LAYERS if factors.get(name, 1.0) != 1.0]
