#!/usr/bin/env bash
# Every row of Table 2 on the embedded synthetic data set, on this machine's CPU (about 12 min
# on 2 cores; 12.3 min measured). Produces results/synthetic/<settings key>/{results.csv,report.md,f_vs_time.png}.
set -euo pipefail
python -m fcn_ablation -m experiment=baseline,a,b,c,d,e,f,g,h "$@"
