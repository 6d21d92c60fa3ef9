"""What makes a table's rows, as plain values: which experiment is the baseline, the order rows
are listed in, and a job's training budget. Free of the schema and of torch, so the report layer
(which reads stored records only) states these facts with the jobs that wrote them, not again.

"Baseline", the one rule: a network that cuts nothing (`is_baseline`: no changed layer) trains as
the baseline does (from `init.baseline_from`, for the table's budget); the experiment named
`BASELINE` is the one that does so by definition, and the row every other is measured against. An
experiment of a user's that cuts nothing trains like it but stays a row of its own (the report
says its widths equal the baseline's). The non-learned rules a network must beat are
"heuristics" (`evaluation.heuristics`), never baselines."""

from __future__ import annotations

from fcn_ablation.models.choices import InitSource

BASELINE = "baseline"  # the experiment every other is measured against (Table 2's first row)


def is_baseline(changed_layers) -> bool:
    """Whether a network cuts nothing: the baseline's training (see the module's docstring)."""
    return not changed_layers


def row_order(name: str) -> tuple[bool, str]:
    """Experiments as the paper lists them: the baseline, then by name (a ... h, then a user's own)."""
    return name != BASELINE, name


def _value(choice) -> str:
    return str(getattr(choice, "value", choice))


def effective_start(source, baseline_from, is_baseline: bool) -> str:
    """Where a job's weights start: `init.source`, except for the baseline of an `init=baseline`
    sweep, which starts from `init.baseline_from` (it is the baseline the variants are cut from)."""
    source = _value(source)
    return _value(baseline_from) if source == InitSource.baseline and is_baseline else source


def training_epochs(init, max_epochs: int, is_baseline: bool) -> int:
    """The training budget: `init.epochs` (a fine-tuning budget) for every job but the baseline of
    an `init=baseline` sweep, which trains from its own start for the table's `max_epochs`."""
    own_start = _value(init.source) == InitSource.baseline and is_baseline
    return init.epochs if init.epochs and not own_start else max_epochs
