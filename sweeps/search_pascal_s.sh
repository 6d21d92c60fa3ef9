#!/usr/bin/env bash
# The width search on real photographs (results/published/search_pascal_s/): 12 trials on PASCAL-S
# at the real-photograph CPU preset, Table 2's eight rows first as trials (selection jobs: cut from
# the trained baseline with first_k, fine-tuned 2 epochs, validated on the 85 validation images,
# never tested), time measured by an interleaved benchmark at full width, 400x300, on this CPU.
# Then, with CONFIRM=<the answer's experiment name, as front.md names it>, the answer is trained
# like every Table 2 row (from scratch, the preset's budget, seeds 0,1,2) into the Table 2 store
# under $TABLE_DIR (default results/published), whose report then holds it beside the nine rows.
# About 15 min for the search and 7 for the confirmation on 2 quiet cores.
set -euo pipefail
ROOT="${PASCAL_S_ROOT:-../shared/data/PASCAL-S}"
R="${RESULTS_DIR:-results/search_pascal_s}"
T="${TABLE_DIR:-results/published}"
TRAIN="'preset=cpu_photo','dataset=pascal_s','dataset.root=$ROOT','dataset.split={train:0.7,val:0.1,test:0.2}','init=baseline','init.epochs=2','trainer.enable_progress_bar=false','logger=none'"
python -m fcn_ablation.commands.search name=pascal_s_cpu n_trials="${N_TRIALS:-12}" paths.results_dir="$R" \
    experiments_dir="$R/experiments" "train=[$TRAIN]"
if [ -n "${CONFIRM:-}" ]; then
    cp "$R/experiments/$CONFIRM.yaml" conf/experiment/
    python -m fcn_ablation -m experiment="$CONFIRM" seed=0,1,2 preset=cpu_photo dataset=pascal_s dataset.root="$ROOT" \
        'dataset.split={train:0.7,val:0.1,test:0.2}' trainer.enable_progress_bar=false paths.results_dir="$T"
fi
