#!/usr/bin/env bash
# Prove the SLURM path on a live, single-node SLURM cluster started just for this test.
#
#   tests/slurm/run.sh            # `make test-slurm`; needs root (apt-get, daemons)
#   tests/slurm/run.sh --smoke    # a two-rule throwaway workflow instead of the real ones
#
# 1. installs Debian's slurm-wlm and munge (apt-get) unless present;
# 2. writes a private munge key and a minimal slurm.conf for this host (no accounting,
#    proctrack/linuxproc, task/none, cons_tres, partitions "main" and "gpu" as named in
#    workflow/profiles/slurm, two count-only "gpu" GRES so the profile's GPU requests schedule);
# 3. starts munged, slurmctld and slurmd (pids recorded; stopped by pid on exit);
# 4. runs the tiny test pipeline of Figures 1-4 through `--workflow-profile
#    workflow/profiles/slurm` and, in a second directory, locally with the same config;
# 5. checks that every job was a SLURM job (job ids in the Snakemake log, each COMPLETED in
#    scontrol) and that the outputs agree (tests/slurm/compare.py).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
BIN=${BIN:-$ROOT/.venv/bin}
SMOKE=0
[[ "${1:-}" == "--smoke" ]] && SMOKE=1

# The test pipeline: Figures 1-3 with tests/config/test.yaml and Figure 4 with
# tests/config/test_mnist.yaml on synthetic MNIST-format data, as one run (one DAG) so SLURM
# and Snakemake start once. tests/helpers/configs.py writes the merged config.
TARGETS=(fig1 fig2 fig3 figS1 fig4 figS2 figS3)

log() { printf '[test-slurm %(%H:%M:%S)T] %s\n' -1 "$*"; }
die() { log "FAIL: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (installs packages, starts slurm daemons)"
# one test cluster at a time on this host (ports, /etc/slurm/slurm.conf)
exec 9>/tmp/deepftle-test-slurm.lock
flock -n 9 || die "another tests/slurm/run.sh is running on this host"
[[ -x $BIN/snakemake ]] || die "no $BIN/snakemake; run 'make test-slurm' (bootstraps .venv)"
T0=$(date +%s)

# ------------------------------------------------------------------ 1. packages
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
    || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
  log "installing slurm-wlm and munge"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    slurm-wlm munge >/dev/null
fi
log "$(slurmctld -V), munge $(munged --version 2>&1 | head -1 | awk '{print $2}')"

# ------------------------------------------------------------------ 2. configuration
WORK=$(mktemp -d /tmp/deepftle-slurm.XXXXXX)
chmod 755 "$WORK"
STATE=$WORK/state
mkdir -p "$STATE/ctld" "$STATE/d" "$WORK/munge"
chmod 700 "$WORK/munge"
PIDS=()
WROTE_CONF=0

cleanup() {
  local rc=$?
  set +e
  if [[ -n "${SLURM_CONF:-}" ]] && ((${#PIDS[@]})); then
    timeout 10 scancel --full --quiet --partition=main,gpu 2>/dev/null
  fi
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill "${PIDS[i]}" 2>/dev/null
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
  # remove the config only while it is still this run's (it names this run's directory)
  if ((WROTE_CONF)) && grep -qF "$WORK" /etc/slurm/slurm.conf 2>/dev/null; then
    rm -f /etc/slurm/slurm.conf /etc/slurm/gres.conf
  fi
  if ((rc != 0)); then
    log "daemon logs (tails):"
    tail -n 20 "$STATE"/*.log "$WORK"/munge/munged.log 2>/dev/null
    log "work directory kept: $WORK"
  elif [[ -z "${KEEP_WORK:-}" ]]; then
    rm -rf "$WORK"
  fi
  log "stopped daemons ${PIDS[*]:-}; exit $rc after $(($(date +%s) - T0)) s"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

HOST=$(hostname -s)
NCPU=$(nproc)
MEM_MB=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512))

MUNGE_SOCKET=$WORK/munge/munge.socket
mungekey --create --keyfile="$WORK/munge/munge.key" --force 2>/dev/null \
  || dd if=/dev/urandom of="$WORK/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$WORK/munge/munge.key"

# The config must sit at the default path /etc/slurm/slurm.conf: the jobstep executor strips
# every SLURM_* variable (SLURM_CONF too) before its nested srun. Never overwrite a real one.
MARK="# Single-node test cluster written by deepftle tests/slurm/run.sh"
export SLURM_CONF=/etc/slurm/slurm.conf
if [[ -e $SLURM_CONF ]] && ! grep -qF "$MARK" "$SLURM_CONF"; then
  die "$SLURM_CONF exists and was not written by this script; refusing to replace it"
fi
mkdir -p /etc/slurm
WROTE_CONF=1
cat >"$SLURM_CONF" <<EOF
$MARK
# run directory: $WORK
ClusterName=deepftle-test
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# keep finished jobs visible to squeue/scontrol for the whole test
MinJobAge=86400
ReturnToService=2
MpiDefault=none
GresTypes=gpu
NodeName=$HOST CPUs=$NCPU RealMemory=$MEM_MB Gres=gpu:2 State=UNKNOWN
PartitionName=main Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$HOST MaxTime=INFINITE State=UP
EOF
# Two stand-in GPUs so the profile's --gpus requests schedule: character devices with the
# numbers of /dev/null (slurmd wants a device file per GPU; count-only GPUs register as 0).
mknod "$WORK/fakegpu0" c 1 3 && mknod "$WORK/fakegpu1" c 1 3
echo "NodeName=$HOST Name=gpu File=$WORK/fakegpu[0-1]" >/etc/slurm/gres.conf

# ------------------------------------------------------------------ 3. daemons
munged --foreground --force --key-file="$WORK/munge/munge.key" --socket="$MUNGE_SOCKET" \
  --pid-file="$WORK/munge/munged.pid" --log-file="$WORK/munge/munged.log" \
  --seed-file="$WORK/munge/munged.seed" >"$WORK/munge/munged.out" 2>&1 9>&- &
PIDS+=($!)
for _ in $(seq 50); do [[ -S $MUNGE_SOCKET ]] && break; sleep 0.1; done
munge --socket="$MUNGE_SOCKET" -n </dev/null | unmunge --socket="$MUNGE_SOCKET" >/dev/null \
  || die "munge round trip failed"

slurmctld -D -i -f "$SLURM_CONF" >"$STATE/slurmctld.out" 2>&1 9>&- &
PIDS+=($!)
slurmd -D -f "$SLURM_CONF" >"$STATE/slurmd.out" 2>&1 9>&- &
PIDS+=($!)
log "munged/slurmctld/slurmd pids: ${PIDS[*]}"

for i in $(seq 120); do
  for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null || die "daemon $pid exited"; done
  state=$(timeout 10 sinfo -h -n "$HOST" -p main -o %T 2>/dev/null || true)
  [[ $state == idle ]] && break
  ((i == 120)) && die "node $HOST not idle after 60 s (state: '${state}')"
  sleep 0.5
done
log "node $HOST idle: $NCPU CPUs, ${MEM_MB} MB, gres gpu:2; partitions: $(sinfo -h -o %P | tr '\n' ' ')"

# ------------------------------------------------------------------ 4./5. pipelines
SLURM_ARGS=(
  --workflow-profile "$ROOT/workflow/profiles/slurm"
  --slurm-status-command squeue
  --slurm-no-account
  --slurm-keep-successful-logs
  --slurm-init-seconds-before-status-checks 2
)

run_pipeline() { # <name> <snakefile> <configfile or ""> <targets...>
  local name=$1 snakefile=$2 cfg=$3
  shift 3
  local cfgargs=()
  [[ -n $cfg ]] && cfgargs=(--configfile "$cfg")
  local sdir=$WORK/$name/slurm ldir=$WORK/$name/local
  mkdir -p "$sdir" "$ldir"

  log "[$name] SLURM run: snakemake ${*}"
  local t=$(date +%s)
  "$BIN/snakemake" --snakefile "$snakefile" --directory "$sdir" "${cfgargs[@]}" \
    "${SLURM_ARGS[@]}" "$@" >"$sdir/snakemake.log" 2>&1 \
    || { tail -n 60 "$sdir/snakemake.log"; die "[$name] SLURM run failed"; }
  local wall=$(($(date +%s) - t))

  # every job that ran was submitted to SLURM and completed there
  local njobs ids
  # the last row of the first "Job stats:" table is the total
  njobs=$(awk '/^Job stats:/ {f=1; next} f && NF == 0 {print last; exit} f {last=$2}' \
    "$sdir/snakemake.log")
  mapfile -t ids < <(grep -oE 'SLURM jobid [0-9]+' "$sdir/snakemake.log" | awk '{print $3}')
  [[ -n $njobs ]] || die "[$name] no job stats in the Snakemake log"
  # the target rules (fig1, ...) are local rules; everything else must go through SLURM
  local nlocal
  nlocal=$(grep -cE '^localrule ' "$sdir/snakemake.log" || true)
  ((${#ids[@]} + nlocal == njobs)) \
    || die "[$name] $njobs jobs but ${#ids[@]} SLURM submissions + $nlocal local rules"
  ((${#ids[@]} > 0)) || die "[$name] no job was submitted to SLURM"
  local id state info bad=0 ngpu=0
  for id in "${ids[@]}"; do
    info=$(timeout 20 scontrol show job -d -o "$id")
    printf '    SLURM job %s: %s %s %s %s\n' "$id" \
      "$(grep -oE 'JobState=[A-Z_]+' <<<"$info")" "$(grep -oE 'Comment=[^ ]+' <<<"$info")" \
      "$(grep -oE 'TresPerJob=[^ ]+' <<<"$info" || true)" "$(grep -oE 'Partition=[^ ]+' <<<"$info")"
    state=$(grep -oE 'JobState=[A-Z_]+' <<<"$info" | cut -d= -f2)
    [[ $state == COMPLETED ]] || { log "SLURM job $id: $state"; bad=1; }
    grep -qE 'gres/gpu=[1-9]|GRES=gpu' <<<"$info" && ngpu=$((ngpu + 1))
  done
  ((bad == 0)) || die "[$name] not every SLURM job COMPLETED"
  local nlogs
  nlogs=$(find "$sdir/.snakemake/slurm_logs" -name '*.log' | wc -l)
  ((nlogs == ${#ids[@]})) || die "[$name] ${#ids[@]} SLURM jobs but $nlogs SLURM job logs"
  log "[$name] SLURM: $njobs jobs ($((njobs - nlocal)) sbatch, $nlocal local target rules)," \
    "job ids ${ids[0]}..${ids[-1]}, all COMPLETED, $ngpu with a GPU allocation; wall ${wall} s"
  echo "$name jobs=$njobs slurm_jobs=${#ids[@]} gpu_jobs=$ngpu local_rules=$nlocal wall_s=$wall ids=${ids[*]}" \
    >>"$WORK/summary.txt"

  log "[$name] local run of the same config"
  t=$(date +%s)
  "$BIN/snakemake" --snakefile "$snakefile" --directory "$ldir" "${cfgargs[@]}" \
    --cores "$NCPU" "$@" >"$ldir/snakemake.log" 2>&1 \
    || { tail -n 60 "$ldir/snakemake.log"; die "[$name] local run failed"; }
  log "[$name] local run: $(($(date +%s) - t)) s"

  "$BIN/python" "$ROOT/tests/slurm/compare.py" "$ldir" "$sdir" \
    || die "[$name] SLURM and local outputs differ"
}

if ((SMOKE)); then
  mkdir -p "$WORK/smoke-wf"
  cat >"$WORK/smoke-wf/Snakefile" <<'EOF'
rule all:
    input: expand("results/sq/{i}.tsv", i=range(3)), "results/sum.tsv"
rule square:
    output: "results/sq/{i}.tsv"
    shell: "echo -e 'i\tsq\n{wildcards.i}\t'$(({wildcards.i}*{wildcards.i})) > {output}; echo SLURM_JOB_ID=${{SLURM_JOB_ID:-}}"
rule total:
    input: expand("results/sq/{i}.tsv", i=range(3))
    output: "results/sum.tsv"
    resources: gpu=1
    shell: "echo -e 'n\n{input}' | wc -w > /dev/null; echo -e 'total\n5' > {output}"
EOF
  run_pipeline smoke "$WORK/smoke-wf/Snakefile" ""
else
  "$BIN/python" "$ROOT/tests/helpers/configs.py" "$WORK/configs" >/dev/null
  run_pipeline figures "$ROOT/Snakefile" "$WORK/configs/test_all.yaml" "${TARGETS[@]}"
fi

log "summary:"
cat "$WORK/summary.txt"
log "PASS in $(($(date +%s) - T0)) s"
