#!/usr/bin/env bash
# Every row of Table 2 on the embedded synthetic data set, on this machine's CPU, five seeds each:
# 45 jobs, one report with a row per experiment (mean and 95 % CI over seeds, paired tests versus
# the baseline, time from an interleaved benchmark of the nine variants).
# Results go to $RESULTS_DIR (default: results/); the committed ones are in results/published/
# (RESULTS_DIR=results/published), so running this never touches them.
# About 65 min on 2 cores (OMP_NUM_THREADS=1 and a second sweep beside it: about 80 min).
set -euo pipefail
python -m fcn_ablation -m experiment=baseline,a,b,c,d,e,f,g,h seed=0,1,2,3,4 \
    paths.results_dir="${RESULTS_DIR:-results}" "$@"
