#!/usr/bin/env bash
# Prove the GPU path on a machine with a CUDA device (`make test-gpu`):
#
# 1. the engine tests (tests/gpu/test_engine_device.py) on CUDA against the float64 CPU
#    reference: |d lambda| <= 1e-4 in float32 for the fused path and the generic path (CNN,
#    residual, LayerNorm, transformer), TF32 off inside the engine, population training on
#    the GPU against solo training on the CPU (< 1e-4);
# 2. the tiny Figures 1-4, S1-S3 pipeline (the configs of tests/helpers/configs.py: circle nets and
#    synthetic MNIST-format data, no network) twice, with `device: cuda` and `device: cpu`;
#    every training / FTLE job of the CUDA run must log a CUDA device;
# 3. every data file of the two runs compared (tests/slurm/compare.py --normwise): max |a - b|
#    <= GPU_ATOL + GPU_RTOL * max |b| per array (defaults 1e-4, 1e-3). The openTSNE outputs
#    (VALUES_SKIP) are compared by layout only: that optimisation is chaotic.
#
# The tolerances are calibrated on the CPU: the same pipeline rerun with another rounding
# (ATEN_CPU_CAPABILITY=default, MKL_CBWR=COMPATIBLE: other float32 kernels, other summation
# order, as on a GPU) moved the arrays by at most 1.4e-4 of their largest entry (the attack
# path's cos(v1, step)), the weights by <= 3e-5 relative, and the openTSNE coordinates by
# up to 11. `DEV=cpu tests/gpu/run.sh` repeats that calibration: step 1 on the CPU, step 2 with
# the perturbed rounding in place of CUDA, step 3 unchanged. It proves nothing about GPUs.
#
# Without a CUDA device (and DEV unset) it stops at once (exit 2) saying so; the engine tests
# of step 1 also run on the CPU under `make test`.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
BIN=${BIN:-$ROOT/.venv/bin}
RTOL=${GPU_RTOL:-1e-3}
ATOL=${GPU_ATOL:-1e-4}
CORES=${CORES:-$(nproc)}
TARGETS=(fig1 fig2 fig3 figS1 fig4 figS2 figS3)
DEV=${DEV:-cuda}
[[ $DEV == cuda || $DEV == cpu ]] || { echo "DEV must be cuda or cpu, got $DEV"; exit 2; }

log() { printf '[test-gpu %(%H:%M:%S)T] %s\n' -1 "$*"; }
die() { log "FAIL: $1"; exit "${2:-1}"; }
T0=$(date +%s)

[[ -x $BIN/python ]] || die "no $BIN/python; run 'make test-gpu' (bootstraps .venv)"
[[ $DEV == cpu ]] && log "DEV=cpu: the CPU calibration of this test (perturbed rounding), not a GPU test"
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
"$BIN/python" tests/helpers/configs.py "$WORK/configs" >/dev/null
# the chaotic openTSNE stage: compared by layout only (see the header)
VALUES_SKIP=(mnist/embedding.npz mnist/adversarial_tsne.npz figures/fig4_tsne_box.tsv)
FIRST=$DEV; [[ $DEV == cpu ]] && FIRST=perturbed
for run in $FIRST cpu; do
  mkdir -p "$WORK/$run"
  env=()
  [[ $run == perturbed ]] && env=(ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE)
  log "tiny pipeline, run $run (${TARGETS[*]})"
  t=$(date +%s)
  env "${env[@]}" "$BIN/snakemake" --snakefile "$ROOT/Snakefile" --directory "$WORK/$run" \
    --configfile "$WORK/configs/test_all.yaml" --config device=${run/perturbed/cpu} \
    --cores "$CORES" "${TARGETS[@]}" >"$WORK/$run/snakemake.log" 2>&1 \
    || { tail -n 60 "$WORK/$run/snakemake.log"; die "pipeline run $run failed ($WORK)"; }
  log "run $run: $(($(date +%s) - t)) s"
done
# the jobs that choose a device print it to their log (deepftle.pipeline.devices.job_device)
ndev=$(grep -lE "^device: $DEV" -r "$WORK/$FIRST/results/logs" | wc -l)
nother=$(grep -lE '^device: ' -r "$WORK/$FIRST/results/logs" | xargs -r grep -LE "^device: $DEV" | wc -l)
((ndev > 0)) || die "no job of the $FIRST run logged device: $DEV ($WORK/$FIRST/results/logs)"
((nother == 0)) || die "$nother jobs of the $FIRST run logged another device"
log "$FIRST run: $ndev jobs logged device: $DEV"

# ------------------------------------------------------------------ 3. compare
"$BIN/python" tests/slurm/compare.py "$WORK/cpu" "$WORK/$FIRST" --rtol "$RTOL" --atol "$ATOL" \
  --normwise --values-skip "${VALUES_SKIP[@]}" --labels "cpu,$FIRST" \
  || die "$FIRST and cpu outputs differ beyond rtol=$RTOL atol=$ATOL (normwise; $WORK)"
[[ -n "${KEEP_WORK:-}" ]] || rm -rf "$WORK"
log "PASS in $(($(date +%s) - T0)) s"
