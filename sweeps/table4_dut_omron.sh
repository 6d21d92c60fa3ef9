#!/usr/bin/env bash
# Table 4: every row of Table 2 on DUT-OMRON at full width on a GPU.
# Needs DUT_OMRON_ROOT (or dataset.root=...) pointing at the folder that holds DUT-OMRON-image/.
# Five seeds per row (45 jobs, the docs' figure); on SLURM add launcher=submitit_slurm
# (pip install -e ".[launchers]"). Other sets scored whole after training: add e.g.
# 'test_on=[dut_omron,ecssd,duts_te]' (docs/test_sets.md, "From MSRA10K to the benchmark sets").
set -euo pipefail
python -m fcn_ablation -m preset=paper dataset=dut_omron experiment=baseline,a,b,c,d,e,f,g,h seed=0,1,2,3,4 "$@"
