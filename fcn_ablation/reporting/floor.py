"""The floor of a table: the centre prior (`evaluation.heuristics`) scored on the table's own test
images, so that every report shows what learning bought over knowing where objects usually are.

Scored once per test set and split files, kept beside the set's report as `centre_prior.json`
(the split hash and mask threshold it was scored on inside): a rebuilt report reads it back, and a
report built where the images are not (a colleague's copy of the store) still shows it. Where
neither the images nor a matching file is at hand, the row is absent and the report says why.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from fcn_ablation import results_layout
from fcn_ablation.data.pairs import DEFAULT_MASK_THRESHOLD, summary_test_pairs
from fcn_ablation.errors import UserError, warn_once
from fcn_ablation.files import atomic_write_text
from fcn_ablation.store.record import Record

log = logging.getLogger(__name__)
FILE = results_layout.CENTRE_PRIOR_JSON
LABEL = "centre prior"  # its row's name in every table


def centre_prior(recs: list[Record], folder: Path) -> dict | None:
    """{"scores": {metric: value}, "test_images": n, "split_hash", "mask_threshold"} of the centre
    prior on the test images of `recs` (a test set's views: the newest record's split files), read
    from `folder/centre_prior.json` when it was scored on the same files, else scored and written
    there; None (a warning says why) when the images cannot be read."""
    rec = max(recs, key=lambda r: r.created)
    section = rec.config.get("dataset", {})
    threshold = float(section.get("mask_threshold", DEFAULT_MASK_THRESHOLD))  # older records: the default
    key = {"split_hash": rec.data.get("split_hash"), "mask_threshold": threshold}
    path = Path(folder) / FILE
    try:
        kept = json.loads(path.read_text())
        if all(kept.get(k) == v for k, v in key.items()):
            return kept
    except (OSError, ValueError):
        pass  # not scored yet, or damaged: score it again
    from fcn_ablation.evaluation.heuristics import CENTRE_PRIOR, rule_scores

    try:
        pairs = summary_test_pairs(rec.data, section)
        scores = rule_scores(pairs, [CENTRE_PRIOR])[CENTRE_PRIOR]
    except (OSError, KeyError, UserError) as err:
        warn_once(f"left out: the centre prior of {folder.name} ({rec.data.get('data_root')}: its test images cannot be "
                  f"read: {str(err).splitlines()[0][:200]})", log)  # fmt: skip
        return None
    out = {**key, "test_images": len(pairs), "sigma": "a quarter of each side", "scores": scores}
    Path(folder).mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(out, indent=1))
    return out
