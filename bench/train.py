"""Benchmark population training against a loop of solo trainings (issue 13).

For each shape and population size S, in one process and one thread (``--threads``):

- ``solo``: S networks trained one after the other by :func:`deepftle.train.train`;
- ``population``: the same S networks (same initial weights, same shuffling generators) trained
  together by :func:`deepftle.population.train_population`.

Both run the real training loops on random data of the shape's proportions: one epoch of
``--steps`` minibatches, the per-epoch evaluation of the training and test sets included (as in
a real run, one evaluation per epoch). The time of a run with ``epochs=0`` (the initial
evaluation alone) is subtracted, so that ``ms/step`` is one step plus its share of one epoch's
evaluation. Timings are the best of ``--reps`` runs, solo and population alternating.

Shapes: the MNIST net (784 -> 20 x 16 -> 10, softmax, cross-entropy, Adam, batch 64) and the
circle nets (2 -> 10 x 12 -> 1 and 2 -> 250 x 12 -> 1, tanh output, energy, SGD, batch 64), at
S = 1, 4, 8, 16; and a width sweep of the circle net at S = 8 (``--sweep-widths``, default 25,
50, 100, 150), where the grouping threshold ``population.max_width`` comes from.

Writes ``results/bench/train.tsv`` (shape, S, solo_ms_per_step_per_net,
population_ms_per_step, throughput_ratio = S * solo / population, population_ms_per_step_per_net,
steps, threads, device, load) and prints the ratio table.

    python bench/train.py            # full benchmark (make bench-train), a few minutes
    python bench/train.py --quick    # tiny sizes, seconds (tests/test_bench_train.py)
"""

from __future__ import annotations

import argparse
import copy
import csv
import os
import time
from pathlib import Path

import torch

from deepftle.model import MLP, init_mlp
from deepftle.population import train_population
from deepftle.train import (TrainConfig, class_error, cross_entropy_loss, energy_loss,
                            sign_error, train)

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ["shape", "S", "solo_ms_per_step_per_net", "population_ms_per_step",
           "throughput_ratio", "population_ms_per_step_per_net", "steps", "threads", "device",
           "load"]

# name -> layout, optimiser, loss, test/train size ratio (MNIST 10000/60000, circle 5000/20000)
SHAPES = {
    "mnist_784-20x16-10_adam": dict(arch=dict(d_in=784, width=20, depth=16, d_out=10,
                                              output="softmax"),
                                    cfg=dict(optimizer="adam", lr=1e-3, batch_size=64),
                                    loss="ce", test_fraction=1 / 6, steps=100),
    "circle_2-10x12-1_sgd": dict(arch=dict(d_in=2, width=10, depth=12), test_fraction=1 / 4,
                                 cfg=dict(optimizer="sgd", lr=0.05, batch_size=64),
                                 loss="energy", steps=200),
    "circle_2-250x12-1_sgd": dict(arch=dict(d_in=2, width=250, depth=12), test_fraction=1 / 4,
                                  cfg=dict(optimizer="sgd", lr=0.05, batch_size=64),
                                  loss="energy", steps=24),
}
LOSSES = {"ce": (cross_entropy_loss, class_error), "energy": (energy_loss, sign_error)}


def circle_shape(width: int) -> dict:
    """The circle net 2 -> width x 12 -> 1 (SGD), for the width sweep behind the grouping
    threshold (``population.max_width``); steps scaled so each run takes about as long."""
    return dict(arch=dict(d_in=2, width=width, depth=12), test_fraction=1 / 4,
                cfg=dict(optimizer="sgd", lr=0.05, batch_size=64), loss="energy",
                steps=max(24, min(200, 4000 // width)))


def make_data(shape: dict, n: int, device, seed: int):
    g = torch.Generator().manual_seed(seed)
    d_in = shape["arch"]["d_in"]
    x = torch.randn(n, d_in, generator=g)
    if shape["loss"] == "ce":
        y = torch.randint(0, 10, (n,), generator=g)
    else:
        y = torch.where(x.norm(dim=1) < 0.8, 1.0, -1.0)
    return x.to(device), y.to(device)


def make_nets(shape: dict, count: int, device) -> list[MLP]:
    nets = []
    for seed in range(count):
        net = MLP(**shape["arch"])
        init_mlp(net, torch.Generator().manual_seed(seed))
        nets.append(net.to(device))
    return nets


def time_runs(shape: dict, nets, tr, te, epochs: int, population: bool) -> float:
    cfg = TrainConfig(epochs=epochs, **shape["cfg"])
    loss_fn, error_fn = LOSSES[shape["loss"]]
    nets = copy.deepcopy(nets)
    gens = [torch.Generator().manual_seed(100 + i) for i in range(len(nets))]
    sync = torch.cuda.synchronize if tr[0].is_cuda else (lambda: None)
    sync()
    start = time.perf_counter()
    if population:
        train_population(nets, tr, te, cfg, loss_fn, error_fn, gens, progress=False)
    else:
        for net, gen in zip(nets, gens):
            train(net, tr, te, cfg, loss_fn, error_fn, gen, progress=False)
    sync()
    return time.perf_counter() - start


def bench_case(shape: dict, size: int, steps: int, reps: int, device) -> tuple[float, float]:
    """(solo ms per step per net, population ms per step): best of ``reps``, alternating."""
    n = steps * shape["cfg"]["batch_size"]
    tr = make_data(shape, n, device, seed=1)
    te = make_data(shape, max(1, int(n * shape["test_fraction"])), device, seed=2)
    nets = make_nets(shape, size, device)
    time_runs(shape, nets[:1], tr, te, 1, population=False)  # warm-up (allocator, MKL)
    time_runs(shape, nets, tr, te, 1, population=True)
    best = {False: float("inf"), True: float("inf")}
    for _ in range(reps):
        for population in (False, True):
            t = (time_runs(shape, nets, tr, te, 1, population)
                 - time_runs(shape, nets, tr, te, 0, population))
            best[population] = min(best[population], t)
    return 1e3 * best[False] / (steps * size), 1e3 * best[True] / steps


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny step counts (smoke test)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 8, 16])
    ap.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    ap.add_argument("--steps", type=int, default=None, help="steps per run (default per shape)")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--sweep-widths", type=int, nargs="*", default=[25, 50, 100, 150],
                    help="circle widths (depth 12) timed at --sweep-size only: where grouping "
                         "stops paying")
    ap.add_argument("--sweep-size", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--out", default=str(ROOT / "results" / "bench" / "train.tsv"))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    rows = []
    cases = [(name, SHAPES[name], args.sizes) for name in args.shapes]
    cases += [(f"circle_2-{w}x12-1_sgd", circle_shape(w), [args.sweep_size])
              for w in args.sweep_widths]
    for name, shape, sizes in cases:
        steps = 3 if args.quick else (args.steps or shape["steps"])
        for size in sizes:
            load = os.getloadavg()[0]
            solo, pop = bench_case(shape, size, steps, args.reps, device)
            rows.append(dict(shape=name, S=size, solo_ms_per_step_per_net=round(solo, 4),
                             population_ms_per_step=round(pop, 4),
                             throughput_ratio=round(size * solo / pop, 3),
                             population_ms_per_step_per_net=round(pop / size, 4), steps=steps,
                             threads=args.threads, device=device_name, load=round(load, 2)))
            print(f"{name:26s} S={size:3d}  solo {solo:8.3f} ms/step/net  population "
                  f"{pop:8.3f} ms/step  throughput {size * solo / pop:5.2f}x  (load {load:.2f})",
                  flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, COLUMNS, delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(out)
    sizes = sorted({r["S"] for r in rows})
    print("\nThroughput of a population over a loop of solo trainings (S * solo / population):")
    print(f"{'shape':26s}" + "".join(f"{'S=' + str(s):>9s}" for s in sizes))
    for name in dict.fromkeys(r["shape"] for r in rows):
        ratios = {r["S"]: r["throughput_ratio"] for r in rows if r["shape"] == name}
        print(f"{name:26s}" + "".join(f"{ratios[s]:8.2f}x" if s in ratios else f"{'-':>9s}"
                                      for s in sizes))
    print(f"written {out}")
    return rows


if __name__ == "__main__":
    main()
