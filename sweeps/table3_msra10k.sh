#!/usr/bin/env bash
# Table 3: every row of Table 2 on MSRA10K at full width on a GPU.
# Needs MSRA10K_ROOT (or dataset.root=...) pointing at the folder that holds Imgs/.
set -euo pipefail
python -m fcn_ablation -m preset=paper dataset=msra10k experiment=baseline,a,b,c,d,e,f,g,h "$@"
