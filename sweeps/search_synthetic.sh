#!/usr/bin/env bash
# The committed width search (results/published/search_cpu/): 20 trials on the synthetic set at the
# CPU preset, Table 2's eight rows first as trials, then the confirmation of its answer on the test
# split with three seeds beside the baseline and the Table 2 rows at least as fast, same budget
# (cut from the trained baseline, first_k, 2 epochs). About 35 min on 2 cores.
# Results go to $RESULTS_DIR (default: results/search_cpu).
set -euo pipefail
R="${RESULTS_DIR:-results/search_cpu}"
TRAIN="'init=baseline','init.epochs=2','dataset.num_workers=0','trainer.enable_progress_bar=false','logger=none'"
python -m fcn_ablation.search name=synthetic_cpu n_trials=20 paths.results_dir="$R" experiments_dir="$R/experiments" "train=[$TRAIN]"
# The confirmation: CONFIRM lists the experiments (the search's answer and the Table 2 rows no
# slower than it, as front.md names them); their experiment files must be in conf/experiment/.
if [ -n "${CONFIRM:-}" ]; then
    python -m fcn_ablation -m experiment=baseline,"$CONFIRM" seed=0,1,2 init=baseline init.epochs=2 \
        dataset.num_workers=0 trainer.enable_progress_bar=false logger=none paths.results_dir="$R"
fi
