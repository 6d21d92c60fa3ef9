#!/usr/bin/env bash
# Train once, test everywhere, on this machine's CPU: every row of Table 2 trained on the embedded
# synthetic set (96x96) and tested on two sets, its own test split and the native-size rehearsal
# set (synthetic_native: 400-pixel images, objects four times larger, never seen in training);
# three seeds each: 27 jobs, one report with a table, curves and maps per test set and the LaTeX
# table of both. Then a third set the sweep never saw, scored later without training:
#   python -m fcn_ablation.evaluate dataset=synthetic_128 models=[$RESULTS_DIR/store/synthetic/<key>]
# Results go to $RESULTS_DIR (default: results/); the committed ones are in
# results/published/test_everywhere/ (RESULTS_DIR=results/published/test_everywhere).
# About 30 min on 2 cores.
set -euo pipefail
python -m fcn_ablation -m experiment=baseline,a,b,c,d,e,f,g,h seed=0,1,2 \
    'test_on=[synthetic,synthetic_native]' paths.results_dir="${RESULTS_DIR:-results}" "$@"
