#!/usr/bin/env bash
# Table 3: every row of Table 2 on MSRA10K at full width on a GPU.
# Needs MSRA10K_ROOT (or dataset.root=...) pointing at the folder that holds Imgs/.
# Five seeds per row (45 jobs, the docs' figure); on SLURM add launcher=submitit_slurm
# (pip install -e ".[launchers]"). Other sets scored whole after training: add e.g.
# 'test_on=[msra10k,ecssd,duts_te]' (docs/test_sets.md, "From MSRA10K to the benchmark sets").
set -euo pipefail
python -m fcn_ablation -m preset=paper dataset=msra10k experiment=baseline,a,b,c,d,e,f,g,h seed=0,1,2,3,4 "$@"
