#!/usr/bin/env bash
# The paper's question "which kernels to keep?" on the embedded synthetic data set, CPU preset,
# three seeds: a-h cut from the trained baseline of the same seed with first_k (the paper), random
# and l1_norm, each fine-tuned for the same 2 epochs, and the same variants trained for 2 epochs
# from scratch. Every run lands in the Table 2 sweep's store folder (init and seed are row
# attributes, not settings), so its report ends with a "Max F by initialisation" table.
# Results go to $RESULTS_DIR (default: results/). SKIP_BASELINES=1 when the Table 2 sweep
# (sweeps/table2_synthetic.sh) has trained the baselines of seeds 0-2 already.
set -euo pipefail
out="paths.results_dir=${RESULTS_DIR:-results}"
if [ "${SKIP_BASELINES:-0}" != 1 ]; then
    python -m fcn_ablation -m experiment=baseline seed=0,1,2 "$out" "$@"   # the preset's epochs from scratch
fi
python -m fcn_ablation -m init=scratch init.epochs=2 experiment=a,b,c,d,e,f,g,h seed=0,1,2 "$out" "$@"
python -m fcn_ablation -m init=baseline init.rule=first_k,random,l1_norm init.epochs=2 experiment=a,b,c,d,e,f,g,h seed=0,1,2 "$out" "$@"
