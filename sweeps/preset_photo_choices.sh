#!/usr/bin/env bash
# What each choice of the real-photograph preset (conf/preset/cpu_photo.yaml) was measured against:
# the baseline on PASCAL-S (70/10/20) with one setting changed, three seeds each, every alternative a
# table of its own under $RESULTS_DIR (default results/photo_choices; committed: results/published/photo_choices).
# The preset itself is the Table 2 sweep's baseline (sweeps/table2_pascal_s.sh, five seeds); testing
# at native size instead of 128x128 needs no training: the Table 2 models scored again (last line).
# About 20 min on 2 cores. docs/photos.md tabulates the reports.
set -euo pipefail
ROOT="${PASCAL_S_ROOT:-../shared/data/PASCAL-S}"
R="${RESULTS_DIR:-results/photo_choices}"
COMMON=(experiment=baseline seed=0,1,2 preset=cpu_photo dataset=pascal_s dataset.root="$ROOT"
        'dataset.split={train:0.7,val:0.1,test:0.2}' paths.results_dir="$R" trainer.enable_progress_bar=false
        logger=none report.bench=false)
python -m fcn_ablation -m "${COMMON[@]}" trainer.max_epochs=8                                   # half the budget
python -m fcn_ablation -m "${COMMON[@]}" model.width_multiplier=0.125 trainer.max_epochs=8      # twice the width, same time
python -m fcn_ablation -m "${COMMON[@]}" 'dataset.crop_scale=[0.6,1.0]'                         # scale augmentation
# Tested at native size: the Table 2 sweep's models (key given as TABLE_KEY), scored on the same 170 images at
# each image's own size, filed as the set pascal_s_native beside their 128x128 results.
if [ -n "${TABLE_KEY:-}" ]; then
    python -m fcn_ablation.evaluate models="[$TABLE_KEY]" dataset=pascal_s dataset.name=pascal_s_native \
        dataset.root="$ROOT" 'dataset.split={train:0.7,val:0.1,test:0.2}' eval_size=native \
        paths.results_dir="${TABLE_DIR:-results/published}" progress=false
fi
