#!/usr/bin/env bash
# Table 4: every row of Table 2 on DUT-OMRON at full width on a GPU.
# Needs DUT_OMRON_ROOT (or dataset.root=...) pointing at the folder that holds DUT-OMRON-image/.
set -euo pipefail
python -m fcn_ablation -m preset=paper dataset=dut_omron experiment=baseline,a,b,c,d,e,f,g,h "$@"
