#!/usr/bin/env bash
# The Python packages a stock PyTorch image (torch, Lightning, torchmetrics, pandas, SciPy, OpenCV,
# Pillow, matplotlib, ...) lacks for this project, as wheels in one folder, for a GPU box that
# cannot reach PyPI: Hydra, OmegaConf and ANTLR's runtime, W&B, Optuna, and what they need. Run it
# where PyPI is reachable (the versions are the ones installed here, which the suite tested),
# copy the folder over with the project, then
#   WHEELS=.whl bash sweeps/gpu_check.sh
# or install them there by hand and run the project from its source folder:
#   pip install --no-index --no-deps --target /tmp/fcn-site .whl/*.whl && export PYTHONPATH=/tmp/fcn-site:$PWD
#
#   bash sweeps/wheels.sh [DIR] [PYTHON_VERSION]     # defaults: .whl 3.12 (the target's Python)
set -euo pipefail
DIR=${1:-.whl}
PYV=${2:-3.12}
mkdir -p "$DIR"
pinned() { for p in "$@"; do python3 -c "import importlib.metadata as m, sys; print(f'$p=={m.version(\"$p\")}')" 2>/dev/null || echo "$p"; done; }
# The tops, resolved with their dependencies for the target's Python (ANTLR's runtime 4.9.3 is
# published as source only: built here, it is pure Python).
python3 -m pip wheel --no-deps -w "$DIR" antlr4-python3-runtime==4.9.3
python3 -m pip download --only-binary=:all: --python-version "$PYV" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform any --find-links "$DIR" -d "$DIR" $(pinned hydra-core omegaconf wandb optuna)
# What every PyTorch image already has (and a second copy would only shadow): left out.
for have in numpy packaging pyyaml PyYAML requests urllib3 idna certifi charset_normalizer typing_extensions tqdm \
            markupsafe MarkupSafe; do
    rm -f "$DIR"/"$have"-[0-9]*.whl
done
ls "$DIR"
