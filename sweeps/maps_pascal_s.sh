#!/usr/bin/env bash
# The committed PASCAL-S table beside other methods scored from saved maps, as the community's
# tools work (issue 35):
# 1. the seed-0 baseline's maps of the table's 170 test images saved as 8-bit PNGs
#    (`fcn-ablation-evaluate maps_dir=...`; needs its job folder's model.pt, which git does not
#    keep: train the table first, sweeps/table2_pascal_s.sh with RESULTS_DIR=results/published);
# 2. the non-learned rules' maps: the centre prior, and colour contrast (the frequency-tuned
#    saliency of Achanta et al., CVPR 2009, in RGB) -- `fcn-ablation-heuristics --save-maps`;
# 3. colour contrast scored beside the table (`fcn-ablation-maps`), which rebuilds its report: their rows
#    in table.md / table.tex and in the curves (curves.png, curves.pdf);
# 4. the baseline's saved PNGs re-scored by PySODMetrics and by `evaluation.maps`, against the
#    score the job filed: results/published/pascal_s/<key>/maps_check.md.
# The table's own split is named: pascal_s alone is a test-only set (all 850 images, training ones
# included), which is not the test the rows were scored on.
# Maps go to $MAPS_DIR (default results/maps, not in git). About 2 min on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="${PASCAL_S_ROOT:-../shared/data/PASCAL-S}"
MAPS="${MAPS_DIR:-results/maps}"
STORE=results/published/store/pascal_s/abe078fadf
BASE=$(ls "$STORE"/baseline-seed0-*.json | head -1)
fcn-ablation-evaluate "models=[$BASE]" dataset=pascal_s dataset.root="$ROOT" 'dataset.split={train:0.7,val:0.1,test:0.2}' \
    paths.results_dir=results/published \
    maps_dir="$MAPS" report=false progress=false accelerator=cpu
fcn-ablation-heuristics "$BASE" --save-maps "$MAPS"
fcn-ablation-maps "$STORE" --set pascal_s --maps "$MAPS/colour_contrast"  # the centre prior is every report's floor row already
python - "$STORE" "$BASE" "$MAPS" <<'EOF'
"""The baseline's saved maps, scored three ways: PySODMetrics on the PNG files, ours on the same
files, and the score the job filed in its record (in memory, before any file was written)."""
import sys
from pathlib import Path

import cv2
import numpy as np

from fcn_ablation import results_layout
from fcn_ablation.bench.metrics_speed import reference
from fcn_ablation.data.pairs import summary_test_pairs
from fcn_ablation.evaluation.maps import method_name, score_maps
from fcn_ablation.evaluation.registry import METRICS
from fcn_ablation.markdown import markdown_table
from fcn_ablation.store.filing import read_record, row_label

store, base, maps = Path(sys.argv[1]), read_record(sys.argv[2]), Path(sys.argv[3])
folder = results_layout.maps_dir(maps, method_name(base.experiment, row_label(base), base.the_seed), "pascal_s")
pairs = summary_test_pairs(base.data, base.config["dataset"])
preds = [cv2.imread(str(folder / f"{p.stem}.png"), cv2.IMREAD_GRAYSCALE) for p in pairs]
gts = [np.where(cv2.imread(str(p.mask), cv2.IMREAD_GRAYSCALE) >= 128, 255, 0).astype(np.uint8) for p in pairs]
pysod = reference(preds, gts)  # PySODMetrics, as `fcn-ablation-bench-metrics` runs it
ours = score_maps(folder, pairs).scores
import pandas as pd

df = pd.DataFrame([{"metric": METRICS[k].label, "PySODMetrics on the PNGs": pysod[k], "ours on the PNGs": ours[k],
                    "the job's record": base.scores[k], "max |difference|": max(abs(ours[k] - pysod[k]), abs(base.scores[k] - pysod[k]))}
                   for k in METRICS])
out = results_layout.report_dir("results/published", base.dataset, base.settings_key) / "maps_check.md"
out.write_text(f"# Saved maps re-scored: {base.path.name}\n\n{len(pairs)} test images of PASCAL-S, maps saved as 8-bit PNGs by "
               "`fcn-ablation-evaluate maps_dir=...` (`sweeps/maps_pascal_s.sh`).\n\n"
               + markdown_table(df, index=False, floatfmt=".8f") + f"\n\nLargest difference: {df['max |difference|'].max():.2e}.\n")
print(out.read_text())
EOF
