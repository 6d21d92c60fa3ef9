#!/usr/bin/env bash
# The GPU check: on a GPU box with the project's files, in under 8 minutes, everything under
# results/published/gpu/<device>/ (or $OUT):
#   1. the inference benchmark at full width, 400x300, batch 1: fp32, TF32 and bf16 eager; the
#      fastest of them with channels_last, and that with torch.compile for the baseline and a
#      (compiling all nine variants would take most of the budget);
#   2. the training benchmark at full width on the rehearsal set (dataset=synthetic_native), the
#      paper's recipe: fp32 against bf16-mixed (and fp32 with TF32, bf16-mixed with channels_last),
#      each with the plain PyTorch loop beside it;
#   3. a two-job preset=paper sweep at full width on the rehearsal set (baseline from a VGG16-format
#      file, a cut from it; $STEPS steps each) through the normal multirun, the store and the
#      end-of-sweep report.
# Runs from the source folder, nothing installed: the packages a stock PyTorch image lacks come
# from a folder of wheels ($WHEELS, made by sweeps/wheels.sh where PyPI is reachable).
#
#   WHEELS=.whl bash sweeps/gpu_check.sh                 # on the GPU box
#   DEVICE=cpu SCALE=tiny bash sweeps/gpu_check.sh       # a rehearsal of the script itself on a CPU (minutes)
#
# Environment: OUT (folder), WHEELS (folder of wheels), VGG16 (a torchvision VGG16 file; default: a
# random stand-in of the same shapes, since nothing can be downloaded there), STEPS (200),
# DEVICE (cuda), SCALE (full | tiny).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [[ -n "${WHEELS:-}" ]]; then
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/fcn-site "$WHEELS"/*.whl
    export PYTHONPATH=/tmp/fcn-site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
export WANDB_MODE=offline WANDB_SILENT=true HYDRA_FULL_ERROR=0
DEVICE=${DEVICE:-cuda}
STEPS=${STEPS:-200}
if [[ "$DEVICE" == cuda ]]; then TRAINER=gpu; else TRAINER=cpu; fi
if [[ "${SCALE:-full}" == tiny ]]; then  # the same commands, small enough for a CPU
    W=0.0625; DATA=(dataset.synthetic.num_images=40 dataset.synthetic.size=96 'dataset.synthetic.short_side=[64,96]')
    ROUNDS=(rounds=2 warmup=1 matmul_size=256); TRAIN_ROUNDS=(bench_train.rounds=2 bench_train.steps=2 bench_train.warmup=1 bench_train.matmul_size=256)
    STEPS=${STEPS_TINY:-4}; REPORT=(report.rounds=2 report.warmup=0 report.permutations=200 report.width_multiplier=$W)
else
    W=1; DATA=(); ROUNDS=(rounds=10 warmup=3); TRAIN_ROUNDS=(bench_train.rounds=8 bench_train.steps=20 bench_train.warmup=5)
    REPORT=()
fi
SLUG=$($PY -c "import torch; from fcn_ablation.evaluation.timing import device_slug; print(device_slug(torch.device('$DEVICE')))")
OUT=${OUT:-results/published/gpu/$SLUG}
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu_check.log") 2>&1
echo "gpu_check: $SLUG, torch $($PY -c 'import torch; print(torch.__version__)'), out $OUT, $(date -u +%FT%TZ)"
start=$SECONDS
step() { echo; echo "== [$((SECONDS - start)) s] $*"; }

step "1. inference benchmark, every experiment, eager: fp32, TF32, bf16"
BENCH=($PY -m fcn_ablation.commands.bench device=$DEVICE width_multiplier=$W out_dir=$OUT/bench "${ROUNDS[@]}")
"${BENCH[@]}" precision=fp32
[[ "$DEVICE" == cuda ]] && "${BENCH[@]}" precision=fp32 tf32=true
"${BENCH[@]}" precision=bf16
BEST=$($PY - "$OUT/bench" "$W" <<'PY'
import sys, pathlib, pandas as pd, yaml
best = None
for cfg in pathlib.Path(sys.argv[1]).glob("*/*/config.yaml"):
    c = yaml.safe_load(cfg.read_text())
    if c.get("channels_last") or c.get("compile") or float(c["width_multiplier"]) != float(sys.argv[2]):
        continue
    ms = pd.read_csv(cfg.parent / "bench.csv").set_index("variant").loc["baseline", "ms_per_image"]
    if best is None or ms < best[0]:
        best = (ms, f"precision={c['precision']} tf32={str(c.get('tf32', False)).lower()}")
print(best[1])
PY
)
step "   the fastest eager setting ($BEST) with channels_last, then compiled (baseline and a)"
"${BENCH[@]}" $BEST channels_last=true
"${BENCH[@]}" $BEST channels_last=true compile=true 'experiments=[baseline,a]'

step "2. training benchmark, full width, rehearsal set, paper recipe: fp32 and bf16-mixed, each beside the plain loop"
TRAIN=($PY -m fcn_ablation.commands.bench_train preset=paper trainer=$TRAINER dataset=synthetic_native "${DATA[@]}"
       model.width_multiplier=$W bench_train.out_dir=$OUT/bench trainer.enable_progress_bar=false "${TRAIN_ROUNDS[@]}")
"${TRAIN[@]}" trainer.precision=32-true
"${TRAIN[@]}" trainer.precision=bf16-mixed
if [[ "$DEVICE" == cuda ]]; then
    "${TRAIN[@]}" trainer.precision=32-true train_speed.tf32=true
    "${TRAIN[@]}" trainer.precision=bf16-mixed train_speed.channels_last=true
fi

step "3. a two-job preset=paper sweep at full width on the rehearsal set ($STEPS steps each), store and report"
VGG16=${VGG16:-/tmp/fcn-vgg16-stand-in.pth}
[[ -f "$VGG16" ]] || $PY -m fcn_ablation.commands.vgg16_stand_in "$VGG16"
$PY -m fcn_ablation -m preset=paper trainer=$TRAINER dataset=synthetic_native "${DATA[@]}" experiment=baseline,a \
    model.width_multiplier=$W init.path="$VGG16" trainer.max_steps=$STEPS trainer.enable_progress_bar=false \
    paths.results_dir="$OUT" "${REPORT[@]}"

step "done: $OUT"
