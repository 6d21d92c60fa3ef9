#!/usr/bin/env bash
# The paper's question "which kernels to keep?" on the embedded synthetic data set, CPU preset:
# a-h cut from one trained baseline with first_k (the paper), random and l1_norm, each fine-tuned
# for the same 2 epochs, and the same variants trained for 2 epochs from scratch. Every run lands
# in one store folder (init is a row attribute, not a setting), so the report
# results/synthetic/<settings key>/report.md ends with a "Max F by initialisation" table.
set -euo pipefail
python -m fcn_ablation init=baseline experiment=baseline "$@"     # the baseline: 7 epochs from scratch
python -m fcn_ablation -m init=baseline init.rule=first_k,random,l1_norm init.epochs=2 experiment=a,b,c,d,e,f,g,h "$@"
python -m fcn_ablation -m init=scratch init.epochs=2 experiment=a,b,c,d,e,f,g,h "$@"
