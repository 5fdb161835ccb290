#!/usr/bin/env bash
# Prove the GPU path on a machine with a CUDA device (`make test-gpu`, issue 14 item 7):
#
# 1. the engine tests (tests/gpu/test_engine_device.py) on CUDA against the float64 CPU
#    reference: |d lambda| <= 1e-4 in float32 for the fused path and the generic path (CNN,
#    residual, LayerNorm, transformer), TF32 off inside the engine, population training on
#    the GPU against solo training on the CPU (< 1e-4);
# 2. the tiny Figures 1-4 pipeline (the configs of tests/slurm/test_configs.py: toy nets and
#    synthetic MNIST-format data, no network) twice, with `device: cuda` and `device: cpu`;
#    every training / FTLE job of the CUDA run must log a CUDA device;
# 3. every data file of the two runs compared (tests/slurm/compare.py) within
#    rtol = GPU_RTOL (default 1e-3) and atol = GPU_ATOL (default 1e-4): float32 kernels sum
#    in another order on the GPU (relative 1e-7 per operation), and the tiny trainings
#    (a few hundred SGD / Adam steps) carry that into the weights and the exponents.
#
# Without a CUDA device it stops at once (exit 2) saying so; the same engine checks run on the
# CPU under `make test`. DEV=cpu tests/gpu/run.sh runs this script's own logic on a machine
# without a GPU (both pipeline runs on the CPU, which must then agree exactly); it proves
# nothing about GPUs.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
BIN=${BIN:-$ROOT/.venv/bin}
RTOL=${GPU_RTOL:-1e-3}
ATOL=${GPU_ATOL:-1e-4}
CORES=${CORES:-$(nproc)}
TARGETS=(fig1 fig2 fig3 figS1 fig4)
DEV=${DEV:-cuda}
[[ $DEV == cuda || $DEV == cpu ]] || { echo "DEV must be cuda or cpu, got $DEV"; exit 2; }

log() { printf '[test-gpu %(%H:%M:%S)T] %s\n' -1 "$*"; }
die() { log "FAIL: $1"; exit "${2:-1}"; }
T0=$(date +%s)

[[ -x $BIN/python ]] || die "no $BIN/python; run 'make test-gpu' (bootstraps .venv)"
[[ $DEV == cpu ]] && log "DEV=cpu: a self-test of this script on the CPU, not a GPU test"
[[ $DEV == cpu ]] || "$BIN/python" - <<'PY' || die "torch sees no CUDA device: make test-gpu needs one (install a CUDA build of torch, e.g. make TORCH_SPEC='torch>=2.1' test-gpu)" 2
import sys, torch
if not torch.cuda.is_available():
    print(f"torch {torch.__version__}, CUDA build {torch.version.cuda}: no CUDA device")
    sys.exit(1)
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, "
      f"{torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}")
PY

# ------------------------------------------------------------------ 1. engine on CUDA
log "engine tests on $DEV against the float64 CPU reference"
DEEPFTLE_TEST_DEVICE=$DEV "$BIN/python" -m pytest -q -p no:cacheprovider tests/gpu \
  || die "engine tests on $DEV failed"

# ------------------------------------------------------------------ 2. tiny pipeline twice
WORK=$(mktemp -d /tmp/deepftle-gpu.XXXXXX)
"$BIN/python" tests/slurm/test_configs.py "$WORK/configs" >/dev/null
for dev in $DEV cpu; do
  [[ -d $WORK/$dev ]] && dev=cpu2
  mkdir -p "$WORK/$dev"
  log "tiny pipeline with device: $dev (${TARGETS[*]})"
  t=$(date +%s)
  "$BIN/snakemake" --snakefile "$ROOT/Snakefile" --directory "$WORK/$dev" \
    --configfile "$WORK/configs/test_all.yaml" --config device=${dev%2} \
    --cores "$CORES" "${TARGETS[@]}" >"$WORK/$dev/snakemake.log" 2>&1 \
    || { tail -n 60 "$WORK/$dev/snakemake.log"; die "pipeline with device: $dev failed ($WORK)"; }
  log "device: $dev: $(($(date +%s) - t)) s"
done
# the jobs that choose a device print it to their log (deepftle.devices.job_device)
ndev=$(grep -lE "^device: $DEV" -r "$WORK/$DEV/results/logs" | wc -l)
nother=$(grep -lE '^device: ' -r "$WORK/$DEV/results/logs" | xargs -r grep -LE "^device: $DEV" | wc -l)
((ndev > 0)) || die "no job of the $DEV run logged device: $DEV ($WORK/$DEV/results/logs)"
((nother == 0)) || die "$nother jobs of the $DEV run logged another device"
log "$DEV run: $ndev jobs logged device: $DEV"
second=cpu; [[ $DEV == cpu ]] && second=cpu2 && RTOL=0 && ATOL=0

# ------------------------------------------------------------------ 3. compare
"$BIN/python" tests/slurm/compare.py "$WORK/$second" "$WORK/$DEV" --rtol "$RTOL" \
  --atol "$ATOL" --labels "$second,$DEV" \
  || die "$DEV and $second outputs differ beyond rtol=$RTOL atol=$ATOL ($WORK)"
[[ -n "${KEEP_WORK:-}" ]] || rm -rf "$WORK"
log "PASS in $(($(date +%s) - T0)) s"
