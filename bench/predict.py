"""Predict the core-seconds and the 2-core wall time of a config from the training cost table.

Every job of a from-scratch run (:func:`jobs.planned_jobs`: Snakemake's dry run) costs

- a training job: ``job_overhead_s + evaluations x eval_s + epochs x steps_per_epoch x
  ms_per_step`` from ``results/bench/train.tsv`` (``make bench-train``): the evaluations of
  both sets before training, every ``eval_every`` epochs and after the last, and the steps;
- any other job: its time in the benchmark files of a finished run (``--stages DIR``, e.g.
  ``results/benchmarks`` of a default run), else ``job_overhead_s`` (start-up and imports).

The wall time is a list schedule of the job graph (inputs and outputs from the dry run) on
``--cores`` cores, each job taking its ``threads`` cores, the job with the longest path to the
end first. ``--check DIR`` compares each training job's prediction with the wall time
Snakemake measured for it in ``DIR`` (``results/benchmarks`` of the run) and fails when the
total differs by more than 30 %.

    python bench/predict.py                                  # config.yaml
    python bench/predict.py --configfile config/paper.yaml   # the paper's protocol
    python bench/predict.py --check results/benchmarks       # against a finished run
"""

from __future__ import annotations

import argparse
import csv
import heapq
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from jobs import ROOT, merged_config, planned_jobs, training_spec  # noqa: E402

TOLERANCE = 0.30


def read_table(path: Path) -> tuple[dict, dict]:
    """``(rows by TrainSpec.key, header values)`` of a cost table written by bench/train.py."""
    if not path.exists():
        raise SystemExit(f"{path}: no training cost table; run `make bench-train` first")
    lines = path.read_text().splitlines()
    header = dict(line[2:].split("\t", 1) for line in lines if line.startswith("# "))
    rows = list(csv.DictReader([ln for ln in lines if not ln.startswith("#")], delimiter="\t"))
    key = lambda r: (
        r["layout"],
        int(r["S"]),
        r["optimizer"],
        int(r["batch_size"]),  # noqa: E731
        int(r["n_train"]),
        int(r["n_test"]),
    )
    return {key(r): r for r in rows}, header


def measured_seconds(bench_dir: Path | None, job: dict) -> float | None:
    """Wall seconds of a job in a finished run's benchmark file (column ``s``), if there."""
    if bench_dir is None or not job["benchmark"]:
        return None
    path = bench_dir / Path(job["benchmark"]).relative_to("results/benchmarks")
    if not path.exists():
        return None
    rows = list(csv.DictReader(path.read_text().splitlines(), delimiter="\t"))
    return float(rows[-1]["s"]) if rows else None


def predict(configfiles, table, header, stages: Path | None) -> list[dict]:
    config = merged_config(configfiles)
    overhead = float(header["job_overhead_s"])
    out = []
    for job in planned_jobs(configfiles):
        spec = training_spec(job, config)
        if spec is None:
            seconds = measured_seconds(stages, job)
            kind = "stage" if seconds is not None else "overhead"
            seconds = overhead if seconds is None else seconds
        else:
            row = table.get(spec.key)
            if row is None:
                raise SystemExit(
                    f"no cost-table row for {spec.key} (job {job['rule']} "
                    f"{job['wildcards']}): run `make bench-train` with this config"
                )
            epoch_steps = spec.epochs * spec.steps_per_epoch * float(row["ms_per_step"]) / 1e3
            seconds = overhead + spec.evaluations * float(row["eval_s"]) + epoch_steps
            kind = "training"
        out.append(dict(job, seconds=seconds, kind=kind, spec=spec))
    return out


def wall_time(jobs: list[dict], cores: int) -> float:
    """Makespan of a list schedule: a job starts when its inputs exist and enough cores are
    free; among ready jobs the one with the longest path to the end goes first."""
    producer = {o: i for i, j in enumerate(jobs) for o in j["outputs"]}
    deps = [{producer[f] for f in j["inputs"] if f in producer} for j in jobs]
    users = defaultdict(set)
    for i, d in enumerate(deps):
        for k in d:
            users[k].add(i)
    tail = {}

    def path(i):  # longest remaining path from job i, itself included
        if i not in tail:
            tail[i] = jobs[i]["seconds"] + max((path(u) for u in users[i]), default=0.0)
        return tail[i]

    sys.setrecursionlimit(10000)
    waiting = [len(d) for d in deps]
    ready = [(-path(i), i) for i, w in enumerate(waiting) if w == 0]
    heapq.heapify(ready)
    running, now, free = [], 0.0, cores
    while ready or running:
        started = True
        while ready and started:
            started = False
            _, i = ready[0]
            need = min(cores, jobs[i]["threads"])
            if need <= free:
                heapq.heappop(ready)
                free -= need
                heapq.heappush(running, (now + jobs[i]["seconds"], i, need))
                started = True
        now, i, need = heapq.heappop(running)
        free += need
        for u in users[i]:
            waiting[u] -= 1
            if waiting[u] == 0:
                heapq.heappush(ready, (-path(u), u))
    return now


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--configfile", nargs="*", default=[], help="overlays of config.yaml")
    ap.add_argument("--table", default=str(ROOT / "results" / "bench" / "train.tsv"))
    ap.add_argument(
        "--stages",
        default=None,
        help="benchmark folder of a finished run: the times of non-training jobs",
    )
    ap.add_argument(
        "--check",
        default=None,
        help="benchmark folder of a run of this config: compare the training jobs",
    )
    ap.add_argument("--cores", type=int, default=2)
    args = ap.parse_args(argv)
    table, header = read_table(Path(args.table))
    stages = Path(args.stages) if args.stages else None
    jobs = predict(args.configfile, table, header, stages)
    by_rule = defaultdict(lambda: [0, 0.0])
    for j in jobs:
        by_rule[j["rule"]][0] += 1
        by_rule[j["rule"]][1] += j["seconds"]
    print(f"{'rule':28s} {'jobs':>5s} {'core-s':>9s}")
    for rule, (n, sec) in sorted(by_rule.items(), key=lambda kv: -kv[1][1]):
        print(f"{rule:28s} {n:5d} {sec:9.0f}")
    training = sum(j["seconds"] for j in jobs if j["kind"] == "training")
    total = sum(j["seconds"] for j in jobs)
    wall = wall_time(jobs, args.cores)
    unmeasured = sum(j["kind"] == "overhead" for j in jobs)
    print(
        f"training {training:.0f} core-s; all {len(jobs)} jobs {total:.0f} core-s "
        f"({total / 3600:.2f} core-h); {args.cores}-core wall time {wall / 60:.1f} min"
        + (
            f" ({unmeasured} non-training jobs at the start-up cost only: pass --stages)"
            if unmeasured
            else ""
        )
        + f"; cost table measured at load {header.get('load_before')}-"
        f"{header.get('load_after')}"
    )
    if args.check:
        pred, meas, worst = 0.0, 0.0, []
        for j in jobs:
            if j["kind"] != "training":
                continue
            m = measured_seconds(Path(args.check), j)
            if m is None:
                raise SystemExit(f"--check: no benchmark file for {j['benchmark']}")
            pred, meas = pred + j["seconds"], meas + m
            worst.append((j["seconds"] / m, j["rule"], j["wildcards"], j["seconds"], m))
        worst.sort()
        print(
            f"check: training jobs predicted {pred:.0f} s, measured {meas:.0f} s "
            f"(ratio {pred / meas:.3f}); per job from {worst[0][0]:.2f} "
            f"({worst[0][1]} {worst[0][2]}) to {worst[-1][0]:.2f} ({worst[-1][1]} "
            f"{worst[-1][2]})"
        )
        if abs(pred / meas - 1) > TOLERANCE:
            raise SystemExit(f"prediction off by more than {TOLERANCE:.0%}")
    return jobs


if __name__ == "__main__":
    main()
