"""Training cost table: time per step and per epoch of every layout a config trains, beside the
GEMM floor of the same step, on one thread.

The layouts come from the configs' planned jobs (:mod:`jobs`: Snakemake's own dry run), so the
table covers exactly what ``make figures`` and ``config/paper.yaml`` train: circle nets alone and
as populations, the MNIST nets of the main net, ensemble and width sweep, and the Fig. S2 nets.
For each layout, with the pipeline's own trainer (:func:`deepftle.nets.population.train_population`
for MLPs, :func:`deepftle.nets.train.train` otherwise) on random data of the layout's shape:

- ``ms_per_step``: one SGD/Adam step of the ``S`` nets (forward, backward, update, minibatch
  gathering), from the best of ``--reps`` runs of one epoch of ``--steps`` steps, with the
  set-up and the evaluations of runs without epochs subtracted;
- ``gemm_floor_ms``: the matrix products of that step alone (per linear layer or
  convolution the forward product, the weight gradient and, above the first layer, the input
  gradient), the best of ``--reps``; ``step_over_floor`` = their ratio;
- ``eval_s``: one evaluation of the training and test sets (the trainer evaluates both
  before training, every ``eval_every`` epochs and after the last);
- ``s_per_epoch`` = steps per epoch x step + one evaluation.

Writes ``results/bench/train.tsv`` (plus the Python start-up and import time of one job,
``job_overhead_s``, in its header) that ``bench/predict.py`` turns into the core-seconds and
2-core wall time of a config. Time it alone on a quiet machine: the table records the load
average before and after.

    python bench/train.py                                  # config.yaml + config/paper.yaml
    python bench/train.py --configfile config/paper.yaml   # one overlay's layouts only
    python bench/train.py --quick                          # tiny sizes, seconds (tests)
"""

from __future__ import annotations

import argparse
import copy
import csv
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from jobs import ROOT, TrainSpec, merged_config, planned_jobs, training_spec  # noqa: E402

from deepftle.nets.archs import build_net, init_net  # noqa: E402
from deepftle.nets.population import train_population  # noqa: E402
from deepftle.nets.train import (
    TrainConfig,
    class_error,
    cross_entropy_loss,  # noqa: E402
    energy_loss,
    sign_error,
    train,
)

COLUMNS = [
    "layout",
    "S",
    "optimizer",
    "batch_size",
    "n_train",
    "n_test",
    "ms_per_step",
    "gemm_floor_ms",
    "step_over_floor",
    "eval_s",
    "s_per_epoch",
    "threads",
]
OUT = ROOT / "results" / "bench" / "train.tsv"


def specs_of(configfiles_list) -> list[TrainSpec]:
    """The distinct training layouts (:attr:`TrainSpec.key`) of every config, in plan order."""
    seen = {}
    for configfiles in configfiles_list:
        config = merged_config(configfiles)
        for job in planned_jobs(configfiles):
            spec = training_spec(job, config)
            if spec is not None:
                seen.setdefault(spec.key, spec)
    return list(seen.values())


def _circle(spec: TrainSpec) -> bool:
    """A circle-problem net (one tanh output, energy loss), else an MNIST classifier."""
    arch = dict(spec.arch)
    return arch["kind"] == "mlp" and arch["d_out"] == 1


def _data(spec: TrainSpec, n: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    if _circle(spec):  # x in [-1, 1]^2, t = +-1
        x = torch.rand(n, 2, generator=g) * 2 - 1
        return x, torch.where(x.norm(dim=1) < 0.8, -1.0, 1.0)
    return torch.randn(n, 784, generator=g), torch.randint(0, 10, (n,), generator=g)


def _nets(spec: TrainSpec):
    nets = []
    for i in range(spec.S):
        net = build_net(dict(spec.arch))
        init_net(net, torch.Generator().manual_seed(i))
        nets.append(net)
    return nets


def _run(spec: TrainSpec, nets, tr, te, epochs: int) -> float:
    """Seconds of the pipeline's trainer for ``epochs`` epochs (0: the initial evaluation)."""
    cfg = TrainConfig(
        optimizer=spec.optimizer,
        lr=1e-3 if spec.optimizer == "adam" else 0.01,
        batch_size=spec.batch_size,
        epochs=epochs,
    )
    loss, error = (energy_loss, sign_error) if _circle(spec) else (cross_entropy_loss, class_error)
    nets = copy.deepcopy(nets)
    gens = [torch.Generator().manual_seed(100 + i) for i in range(len(nets))]
    start = time.perf_counter()
    if dict(spec.arch)["kind"] == "mlp":
        train_population(nets, tr, te, cfg, loss, error, gens, progress=False)
    else:
        for net, gen in zip(nets, gens, strict=True):
            train(net, tr, te, cfg, loss, error, gen, progress=False)
    return time.perf_counter() - start


def _linear_maps(net):
    """Every linear layer and convolution of a net, in order."""
    return [m for m in net.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]


def gemm_floor(spec: TrainSpec, reps: int, inner: int = 20) -> float:
    """Milliseconds of one step's matrix products alone, ``S`` nets as one batched product: per
    linear layer the forward product, the weight gradient and (above the first layer, whose
    input needs none) the input gradient; per convolution the same through ATen's
    ``convolution`` and ``convolution_backward``."""
    net = build_net(dict(spec.arch))
    B, S = spec.batch_size, spec.S
    arch = dict(spec.arch)
    h = torch.randn(B, *((1, 28, 28) if arch["kind"] == "cnn" else (arch["d_in"],)))
    ops = []
    for index, m in enumerate(_linear_maps(net)):
        first = index == 0
        if isinstance(m, torch.nn.Conv2d):
            w = m.weight.detach()
            out = torch.nn.functional.conv2d(h, w, stride=m.stride)
            g = torch.randn_like(out)
            ops.append(lambda h=h, w=w, m=m: torch.nn.functional.conv2d(h, w, stride=m.stride))
            ops.append(
                lambda h=h, w=w, g=g, m=m, first=first: torch.ops.aten.convolution_backward(
                    g,
                    h,
                    w,
                    None,
                    list(m.stride),
                    list(m.padding),
                    list(m.dilation),
                    False,
                    [0, 0],
                    m.groups,
                    [not first, True, False],
                )
            )
            h = out
        else:
            a = torch.randn(S, B, m.in_features)
            w = torch.randn(S, m.in_features, m.out_features)
            g = torch.randn(S, B, m.out_features)
            ops.append(lambda a=a, w=w: torch.bmm(a, w))
            ops.append(lambda a=a, g=g: torch.bmm(a.transpose(1, 2), g))
            if not first:
                ops.append(lambda g=g, w=w: torch.bmm(g, w.transpose(1, 2)))
            h = torch.randn(B, m.out_features)
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        for _ in range(inner):
            for op in ops:
                op()
        best = min(best, (time.perf_counter() - start) / inner)
    return 1e3 * best


def measure(spec: TrainSpec, steps: int, reps: int, n_eval: tuple[int, int] | None = None):
    """``(ms_per_step, eval_s)`` of ``spec`` with the pipeline's trainer."""
    nets = _nets(spec)
    tiny = _data(spec, spec.batch_size, 2)
    small = _data(spec, steps * spec.batch_size, 1), tiny
    n_train, n_test = n_eval or (spec.n_train, spec.n_test)
    full = _data(spec, n_train, 3), _data(spec, n_test, 4)
    _run(spec, nets, *small, 1)  # warm-up: allocator, BLAS
    # one epoch = set-up + 2 evaluations of the small set (before, after) + the steps; a run
    # without epochs = set-up + 1 evaluation; one on a single minibatch = set-up alone, nearly
    one = min(_run(spec, nets, *small, 1) for _ in range(reps))
    none = min(_run(spec, nets, *small, 0) for _ in range(reps))
    setup = min(_run(spec, nets, tiny, tiny, 0) for _ in range(reps))
    work = one - 2 * none + setup
    if work <= 0:
        raise RuntimeError(
            f"{spec.layout}, S = {spec.S}: {steps} steps timed at {work:.2g} s: "
            f"timing noise exceeds the work (is the machine loaded?); use more "
            f"--steps"
        )
    evaluation = min(_run(spec, nets, *full, 0) for _ in range(reps)) - setup
    return 1e3 * work / steps, evaluation


def job_overhead(reps: int = 3) -> float:
    """Seconds for a job's Python start and imports (what every Snakemake script job pays)."""
    cmd = [
        sys.executable,
        "-c",
        "import torch, pandas, deepftle.nets.population, "
        "deepftle.circle.nets, deepftle.images.nets, "
        "deepftle.pipeline.files",
    ]
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        subprocess.run(cmd, check=True)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--configfile",
        nargs="*",
        action="append",
        default=None,
        help="an overlay of config.yaml (repeat for several configs); default: "
        "config.yaml and config.yaml + config/paper.yaml",
    )
    ap.add_argument("--steps", type=int, default=60, help="steps per timed run")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--quick",
        action="store_true",
        help="a few steps and small evaluation sets: a smoke test, not a table",
    )
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    configs = args.configfile or [[], [str(ROOT / "config" / "paper.yaml")]]
    specs = specs_of(configs)
    if args.quick:
        specs = specs[:3]
    load_before = os.getloadavg()[0]
    rows = []
    print(
        f"{'layout':28s} {'S':>3s} {'opt':>4s} {'ms/step':>8s} {'floor':>7s} {'ratio':>6s} "
        f"{'eval s':>7s} {'s/epoch':>8s}",
        flush=True,
    )
    for spec in specs:
        step, evaluation = measure(
            spec,
            20 if args.quick else args.steps,
            2 if args.quick else args.reps,
            (256, 64) if args.quick else None,
        )
        floor = gemm_floor(spec, 1 if args.quick else args.reps, 2 if args.quick else 20)
        epoch = spec.steps_per_epoch * step / 1e3 + evaluation
        rows.append(
            dict(
                layout=spec.layout,
                S=spec.S,
                optimizer=spec.optimizer,
                batch_size=spec.batch_size,
                n_train=spec.n_train,
                n_test=spec.n_test,
                ms_per_step=round(step, 4),
                gemm_floor_ms=round(floor, 4),
                step_over_floor=round(step / floor, 3),
                eval_s=round(evaluation, 4),
                s_per_epoch=round(epoch, 3),
                threads=args.threads,
            )
        )
        print(
            f"{spec.layout:28s} {spec.S:3d} {spec.optimizer:>4s} {step:8.3f} {floor:7.3f} "
            f"{step / floor:6.2f} {evaluation:7.3f} {epoch:8.2f}",
            flush=True,
        )
    overhead = job_overhead(1 if args.quick else 3)
    load_after = os.getloadavg()[0]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with open(tmp, "w", newline="") as fh:
        fh.write(
            f"# job_overhead_s\t{overhead:.3f}\n# load_before\t{load_before:.2f}\n"
            f"# load_after\t{load_after:.2f}\n"
            f"# cpu\t{platform.processor() or platform.machine()}"
            f"\n# torch\t{torch.__version__}\n# quick\t{args.quick}\n"
        )
        writer = csv.DictWriter(fh, COLUMNS, delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(out)
    print(
        f"job overhead (start-up and imports) {overhead:.2f} s; load average {load_before:.2f} "
        f"before, {load_after:.2f} after; written {out}"
    )
    return rows


if __name__ == "__main__":
    main()
