#!/usr/bin/env bash
# The GPU check: on a GPU box with the project's files, in under 10 minutes, everything it measures
# under $OUT (default results/published/gpu/<device>/), then, on every exit, all of it as one archive
# beside its log ($OUT/gpu_check.tar.gz; the log is $OUT/gpu_check.log). Steps 1 and 2 are Table 3
# and the sweep the paper is about, so they go first:
#   1. Table 3 under five speed settings (`speeds=[defaults]`: fp32, fp32-tf32, bf16, bf16-graphs,
#      bf16-b16): Table 2's nine rows at full width, 400x300, time ratios with intervals, the
#      paper's beside, launch-bound settings marked (bench/<device>/speeds-400x300-w1-baseline+a+...+h.md);
#   2. a two-job preset=paper sweep at full width on the rehearsal set (baseline from a VGG16-format
#      file, a cut from it; $STEPS steps each) through the normal multirun, the store and the
#      end-of-sweep report (its Table 3 under the five settings too);
#   3. the training benchmark at full width: the paper's recipe at batch 1 in TF32 and in bf16-mixed
#      (each profiled: device busy against idle per step), the same at one fixed size compiled with
#      CUDA graphs (`reduce-overhead`; bf16-mixed against TF32 on the same images), and the modern
#      recipe at a batch of 16, all against the dense 8192-square bf16 matmul; each capped at $CAP
#      seconds (150) and skipped once the check's $BUDGET (570 s) is near: a slow compile costs its
#      own row, not the archive.
# W&B logs offline where it is installed; where it is not, every command runs with logger=none and
# the log says so. Runs from the source folder, nothing installed: the packages a stock PyTorch
# image lacks come from a folder of wheels ($WHEELS, made by sweeps/wheels.sh where PyPI is reachable).
#
#   WHEELS=.whl bash sweeps/gpu_check.sh                 # on the GPU box
#   DEVICE=cpu SCALE=tiny bash sweeps/gpu_check.sh       # a rehearsal of the script itself on a CPU (tests/test_gpu_check.py)
#
# Environment: OUT (folder), WHEELS (folder of wheels), VGG16 (a torchvision VGG16 file; default: a
# random stand-in of the same shapes, since nothing can be downloaded there), STEPS (200),
# DEVICE (cuda), SCALE (full | tiny), CAP (150), BUDGET (570, seconds for the whole check).
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
NINE='experiments=[baseline,a,b,c,d,e,f,g,h]'
if [[ "$DEVICE" == cuda ]]; then TRAINER=gpu; SPEEDS='speeds=[defaults]'; else TRAINER=cpu; SPEEDS='speeds=[fp32,bf16,fp32-b2]'; fi
if [[ "${SCALE:-full}" == tiny ]]; then  # the same commands, small enough for a CPU
    W=0.03125; SIZE=(height=48 width=64)
    DATA=(dataset.synthetic.num_images=24 dataset.synthetic.size=64 'dataset.synthetic.short_side=[48,64]')
    FIXED=(dataset=synthetic dataset.synthetic.num_images=24 dataset.synthetic.size=32)
    ROUNDS=(rounds=2 warmup=1 matmul_size=128)
    TRAIN_ROUNDS=(bench_train.rounds=2 bench_train.steps=2 bench_train.warmup=1 bench_train.matmul_size=128)
    PROFILE=bench_train.profile_steps=2; BATCH=4
    STEPS=${STEPS_TINY:-2}; REPORT=(report.rounds=2 report.warmup=0 report.permutations=100 report.width_multiplier=$W
                                    "report.speeds=[fp32,bf16]" dataset.num_workers=0)
else
    W=1; SIZE=(); DATA=(); FIXED=(dataset=synthetic dataset.synthetic.num_images=200 dataset.synthetic.size=384)
    ROUNDS=(rounds=10 warmup=3); TRAIN_ROUNDS=(bench_train.rounds=5 bench_train.steps=10 bench_train.warmup=5)
    PROFILE=bench_train.profile_steps=10; BATCH=16; REPORT=()
fi
SLUG=$($PY -c "import torch; from fcn_ablation.evaluation.timing import device_slug; print(device_slug(torch.device('$DEVICE')))")
OUT=${OUT:-results/published/gpu/$SLUG}
mkdir -p "$OUT"
exec > >(trap '' TERM INT; exec tee "$OUT/gpu_check.log") 2>&1  # the log outlives a kill, so the archive is logged
echo "gpu_check: $SLUG, torch $($PY -c 'import torch; print(torch.__version__)'), out $OUT, $(date -u +%FT%TZ)"
if $PY -c "import wandb" 2>/dev/null; then
    LOGGER=(); echo "W&B $($PY -c 'import wandb; print(wandb.__version__)') installed: every run logs offline (WANDB_MODE=offline) under $OUT"
else
    LOGGER=(logger=none); echo "W&B is not installed here: every command runs with logger=none (nothing logged to W&B)"
fi
start=$SECONDS
step() { echo; echo "== [$((SECONDS - start)) s] $*"; }
capped() {  # one training benchmark, at most CAP seconds and within the BUDGET (30 s kept for the archive)
    local left=$(( ${BUDGET:-570} - (SECONDS - start) - 30 ))
    if (( left < 20 )); then echo "!! skipped: the check's ${BUDGET:-570} s are spent: $*"; return 0; fi
    local cap=$(( left < ${CAP:-150} ? left : ${CAP:-150} ))
    timeout "$cap" "$@" || echo "!! stopped or failed (exit $?) after at most $cap s: $*"
}
archive() {  # on every exit, whole or not: what was measured comes back in one file
    local rc=$?
    trap '' TERM INT
    echo; echo "== [$((SECONDS - start)) s] 4. the archive: $OUT/gpu_check.tar.gz (exit $rc so far)"
    echo "the jobs' weights and checkpoints (hundreds of MB each at full width; of no use after $STEPS steps) are removed:"
    find "$OUT" \( -name '*.ckpt' -o -name model.pt \) -print -delete | sed 's/^/  /'
    tar czf "/tmp/gpu_check.$$.tar.gz" --exclude=gpu_check.tar.gz -C "$OUT" . && mv "/tmp/gpu_check.$$.tar.gz" "$OUT/gpu_check.tar.gz"
    tar tzf "$OUT/gpu_check.tar.gz" | grep -E 'speeds-.*\.md$|profile\.md$|report\.md$' | sort
    echo; echo "== [$((SECONDS - start)) s] done (exit $rc): $OUT"
}
trap archive EXIT
trap 'exit 143' TERM INT  # a kill from outside still writes the archive

step "1. Table 3 under every speed setting: nine rows, width $W, 400x300 unless tiny"
$PY -m fcn_ablation.commands.bench device=$DEVICE width_multiplier=$W out_dir=$OUT/bench "$NINE" "$SPEEDS" \
    "${SIZE[@]}" "${ROUNDS[@]}"

step "2. a two-job preset=paper sweep at width $W on the rehearsal set ($STEPS steps each), store and report"
VGG16=${VGG16:-/tmp/fcn-vgg16-stand-in.pth}
[[ -f "$VGG16" ]] || $PY -m fcn_ablation.commands.vgg16_stand_in "$VGG16"
$PY -m fcn_ablation -m preset=paper trainer=$TRAINER dataset=synthetic_native "${DATA[@]}" experiment=baseline,a \
    model.width_multiplier=$W init.path="$VGG16" trainer.max_steps=$STEPS trainer.enable_progress_bar=false \
    paths.results_dir="$OUT" "${REPORT[@]}" "${LOGGER[@]}"

step "3. training benchmark, width $W: the paper's recipe at batch 1 (TF32, bf16-mixed; profiled), compiled with CUDA graphs, the modern recipe at batch $BATCH"
TRAIN=(capped $PY -m fcn_ablation.commands.bench_train trainer=$TRAINER model.width_multiplier=$W bench_train.out_dir=$OUT/bench
       trainer.enable_progress_bar=false "${TRAIN_ROUNDS[@]}" "${LOGGER[@]}")
PAPER=(preset=paper dataset=synthetic_native "${DATA[@]}")
if [[ "$DEVICE" == cuda ]]; then
    "${TRAIN[@]}" "${PAPER[@]}" trainer.precision=32-true train_speed.tf32=true $PROFILE
else
    "${TRAIN[@]}" "${PAPER[@]}" trainer.precision=32-true $PROFILE
fi
"${TRAIN[@]}" "${PAPER[@]}" trainer.precision=bf16-mixed train_speed.channels_last=true $PROFILE
# the paper's recipe at one fixed size, compiled with CUDA graphs: bf16-mixed against TF32 on the same images
COMPILED=(preset=paper "${FIXED[@]}" dataset.batch_size=1 train_speed.channels_last=true train_speed.compile=true
          train_speed.compile_mode=reduce-overhead train_speed.size_bucket=32)
"${TRAIN[@]}" "${COMPILED[@]}" trainer.precision=bf16-mixed
if [[ "$DEVICE" == cuda ]]; then "${TRAIN[@]}" "${COMPILED[@]}" trainer.precision=32-true train_speed.tf32=true; fi
# (skip_zeros off: its FLOP/s would count work it skips)
"${TRAIN[@]}" recipe=modern "${FIXED[@]}" dataset.batch_size=$BATCH trainer.precision=bf16-mixed train_speed.channels_last=true \
    train_speed.skip_zeros=false
