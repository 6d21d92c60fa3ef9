#!/usr/bin/env bash
# Table 2 on real photographs: PASCAL-S (850 images; ../shared/data/PASCAL-S in this workplace, or
# PASCAL_S_ROOT) split 70/10/20 (595 train, 85 val, 170 test; the split files beside the data, or in
# the cache when its folder is read-only), at the real-photograph CPU preset (conf/preset/cpu_photo.yaml).
# Every row from scratch with the same budget: the baseline with five seeds, a to h with three
# (29 jobs), then one report: a row per experiment with its 95 % interval, paired tests versus the
# baseline, the centre prior's row, the interleaved benchmark of the nine variants at full width
# and at the trained width, curves, maps and the LaTeX table.
# Results go to $RESULTS_DIR (default: results/); the committed ones are in results/published/
# (RESULTS_DIR=results/published). About 60 min on 2 quiet cores.
set -euo pipefail
ROOT="${PASCAL_S_ROOT:-../shared/data/PASCAL-S}"
COMMON=(preset=cpu_photo dataset=pascal_s dataset.root="$ROOT" 'dataset.split={train:0.7,val:0.1,test:0.2}'
        paths.results_dir="${RESULTS_DIR:-results}" trainer.enable_progress_bar=false)
python -m fcn_ablation -m experiment=baseline seed=0,1,2,3,4 "${COMMON[@]}" report.bench=false "$@"
python -m fcn_ablation -m experiment=baseline,a,b,c,d,e,f,g,h seed=0,1,2 "${COMMON[@]}" "$@"
