"""What moves our Fig. 3 away from the published one: one factor at a time against the default.

Fig. 3(b): L<lambda_1>_c (centre) and L<lambda_1>_d (decision boundary), their contrast and the
test accuracy of nets trained with the default protocol (``config.yaml``, ``circle.fig3b``: fan-in
first layer, plain SGD lr 0.05 * min(1, 100/N), batch 64, cosine decay over 20 epochs,
thresholds zero and trained, tanh output, redraws of realisations below 99 % training accuracy,
at most 3) and with one thing changed, on the same seeds (the pipeline's own: ``circle_net`` of the
default config, realisations 0 and 1, so the baseline nets are the default run's). Factors:

- ``first_layer``: sigma_1^2 = 1/N like the hidden layers (``width``) instead of 1/d_in;
- ``schedule``: constant lr for 20 epochs; 200 epochs (the paper's length; N = 4 and 25 only)
  at constant lr 0.05, with the cosine decay, and at constant lr 0.01; untrained nets (0
  epochs) for reference;
- ``redraws``: off (the first draw of every realisation kept);
- ``lr_width``: none (lr 0.05 at every width; only N = 160 changes, the other rows are the
  baseline's);
- ``output``: linear output unit instead of tanh (small code here: the library's
  ``make_net`` builds a tanh output, so the script swaps in a linear head);
- ``thresholds``: sigma_theta = 1 (random, trained); frozen at zero (hidden thresholds held
  at 0, the solo trainer ``deepftle.nets.train.train``: every hidden layer is then odd in x);
- measured differently on the baseline nets (no training): ``layer`` (lambda of the map up to
  the output unit, L + 1 maps, its local field or the tanh output, divided by L + 1 or by L);
  ``centre`` (the single point x = 0; the mean over the whole plane at distance >= 0.2 from
  the net's decision boundary);
- ``combined``: the first layer ``width`` measured with the plane as the centre (L = 2-12);
- the baseline and the ``width`` first layer also at L = 2 and 8 (C_c over L = 2, 4, 8, 12).

Fig. 3(a) (L = 2, N = 4, 32, 128): random features (``mode=readout``) with the default
least-squares readout, first layer ``width``, sigma_theta 0.5 / 2, or an SGD readout; fully
trained nets with the default (``circle.fig3a``: sigma_theta = 1, fan-in, cosine, 20 epochs), first
layer ``width``, sigma_theta = 0, constant lr for 20 or 200 epochs.

Every net gives one row of ``--out`` (TSV, appended as it goes; a rerun skips what is there):
panel, factor, variant, N, L, seed, init_seed, draw, epochs, accuracy, train_accuracy,
test_error, Llam_c, Llam_d, contrast, seconds, note. ``--summary`` prints the means over seeds
per variant and the fitted C_c (:func:`deepftle.circle.crossover.fit_crossover`).

    nice -n 10 python docs/experiments/fig3_causes.py --out docs/fig3-causes.tsv
    python docs/experiments/fig3_causes.py --out docs/fig3-causes.tsv --summary
    # --jobs baseline,output_linear ...: a subset, in that order (see JOBS)

All jobs took about 42 minutes on one thread of a loaded 2-core machine (20-epoch nets 1-15 s
each; the 200-epoch jobs and the constant-lr redraws dominate). Summary page:
``docs/fig3-causes.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml
from torch import nn

import deepftle.circle.nets as circle_nets
from deepftle.circle.crossover import boundary_centre_means, fit_crossover
from deepftle.circle.data import circle_data
from deepftle.circle.fields import field_on_grid
from deepftle.circle.nets import circle_net, train_circle, train_circle_nets
from deepftle.circle.ridges import grid_distance
from deepftle.ftle import ftle
from deepftle.nets.init import init_mlp
from deepftle.nets.mlp import MLP
from deepftle.nets.train import energy_loss, sign_error, train

ROOT = Path(__file__).resolve().parents[2]
COLUMNS = [
    "panel",
    "factor",
    "variant",
    "N",
    "L",
    "seed",
    "init_seed",
    "draw",
    "epochs",
    "accuracy",
    "train_accuracy",
    "test_error",
    "Llam_c",
    "Llam_d",
    "contrast",
    "seconds",
    "note",
]
SEEDS = (0, 1)
WIDTHS_B, DEPTHS_B = (4, 25, 160), (4, 12)
WIDTHS_A = (4, 32, 128)
PLANE_DISTANCE = 0.2  # 'whole plane away from the boundary': distance >= 0.2 from O = 0

# the two changes together: first layer 1/N, centre = the plane away from the boundary
WIDTH_PLANE = {("combined", "first layer width, centre plane"): "trunk@plane"}

# measured on the baseline nets: (factor, variant) -> key of measure()'s result
MEASURES = {
    ("baseline", "default"): "trunk",
    ("layer", "to output unit (tanh O), /(L+1)"): "out/(L+1)",
    ("layer", "to output unit (tanh O), /L"): "out/L",
    ("layer", "to output local field, /(L+1)"): "field/(L+1)",
    ("layer", "to output local field, /L"): "field/L",
    ("centre", "x = 0"): "trunk@x0",
    ("centre", f"plane, d >= {PLANE_DISTANCE}"): "trunk@plane",
}


# ----------------------------------------------------------------------------- config


def circle_config() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text())["circle"]


def settings_for(circle: dict, block: str, *, readout_mode: bool = False, **override) -> dict:
    """What the pipeline's ``train_params`` selects for a figure block, with overrides of the
    block's keys (``first_layer``, ``sigma_theta``, ``epochs``, ``redraws``) or of ``circle.train``
    (``train={...}``)."""
    keys = ("sigma_theta", "epochs", "first_layer", "redraws", "min_accuracy")
    exp = {k: circle[block][k] for k in keys if k in circle[block]}
    train_set = dict(circle["train"], **override.pop("train", {}))
    readout_set = dict(circle["readout"], **override.pop("readout", {}))
    exp.update(override)
    s = dict(seed=circle["seed"], train=train_set, experiment=exp)
    if readout_mode:
        s["readout"] = readout_set
    return s


# ----------------------------------------------------------------------------- variants of the net


def _linear_output_net(width, depth, *, s, sigma_theta, seed, first_layer="width"):
    """``deepftle.circle.nets.make_net`` with a linear output unit (O = w.x^(L) - theta)."""
    net = MLP(d_in=2, width=width, depth=depth, activation="tanh", output="softmax")  # d_out = 1
    sigma_w = init_mlp(
        net,
        torch.Generator().manual_seed(seed),
        s=s,
        sigma_theta=sigma_theta,
        first_layer=first_layer,
    )
    return net, sigma_w


@contextlib.contextmanager
def linear_output():
    """Build every net of ``train_circle_nets`` with a linear output (the library has no option)."""
    original = circle_nets.make_net
    circle_nets.make_net = _linear_output_net
    try:
        yield
    finally:
        circle_nets.make_net = original


def train_frozen_thresholds(net, data):
    """One net with its hidden thresholds held at zero (the output threshold trained), solo
    trainer; no redraws (every such net is odd in x up to the output threshold)."""
    model, _ = circle_nets.make_net(
        net.width, net.depth, s=net.s, sigma_theta=0.0, seed=net.seed, first_layer=net.first_layer
    )
    for lin in model.hidden_linears():
        lin.bias.requires_grad_(False)
    tr = (data["x_train"], data["t_train"])
    te = (data["x_test"], data["t_test"])
    history, _ = train(
        model,
        tr,
        te,
        net.train,
        energy_loss,
        sign_error,
        torch.Generator().manual_seed(net.seed + 1),
        progress=False,
    )
    return model, history.assign(draw=0, init_seed=net.seed)


# ----------------------------------------------------------------------------- measurement


def measure(model, grid: int, delta: float, centre_radius: float) -> dict:
    """``{key: (Llam_c, Llam_d)}`` for every way of measuring in MEASURES, on one net."""
    L = model.arch["depth"]
    f = field_on_grid(model, grid, 1.0)
    pts, dist, _ = grid_distance(f["x1"], f["x2"], f["output"])
    x = torch.as_tensor(pts, dtype=torch.float32)
    r = np.linalg.norm(pts, axis=1)
    i0 = int(np.argmin(r))

    def means(v, centre):
        v = np.asarray(v, dtype=float).ravel()
        fin = np.isfinite(v)
        near = (dist < delta) & fin
        return (float(v[centre & fin].mean()), float(v[near].mean()) if near.any() else math.nan)

    trunk = L * f["lam1"]
    out = {
        "trunk": boundary_centre_means(
            f["x1"], f["x2"], trunk, f["output"], delta=delta, centre_radius=centre_radius
        )[::-1]
    }
    disk = r < centre_radius
    assert np.allclose(out["trunk"], means(trunk, disk), equal_nan=True)
    point = np.zeros_like(disk)
    point[i0] = True
    out["trunk@x0"] = means(trunk, point)
    out["trunk@plane"] = means(trunk, dist >= PLANE_DISTANCE)
    with torch.no_grad():
        field_map = nn.Sequential(*model.trunk, model.head)
        for key, seq in (("field", field_map), ("out", model.as_sequential())):
            lam = ftle(seq, x, k=1)[:, 0].double().numpy()  # log Lambda / (L + 1)
            out[f"{key}/(L+1)"] = means(L * lam, disk)
            out[f"{key}/L"] = means((L + 1) * lam, disk)
    return out


# ----------------------------------------------------------------------------- the table


class Table:
    def __init__(self, path: Path):
        self.path = path
        self.done = set()
        if path.exists() and path.stat().st_size:
            old = pd.read_csv(path, sep="\t")
            self.done = {self.key(r) for r in old.to_dict("records")}

    @staticmethod
    def key(r):
        return (r["panel"], r["factor"], r["variant"], int(r["N"]), int(r["L"]), int(r["seed"]))

    def has(self, rows):
        return all(self.key(r) in self.done for r in rows)

    def add(self, rows):
        rows = [r for r in rows if self.key(r) not in self.done]
        if not rows:
            return
        new = not self.path.exists() or not self.path.stat().st_size
        pd.DataFrame(rows, columns=COLUMNS).to_csv(
            self.path, sep="\t", index=False, header=new, mode="a", float_format="%.6g"
        )
        self.done |= {self.key(r) for r in rows}
        for r in rows:
            print(
                "  "
                + " ".join(
                    f"{k}={r[k]}"
                    for k in (
                        "factor",
                        "variant",
                        "N",
                        "L",
                        "seed",
                        "accuracy",
                        "Llam_c",
                        "Llam_d",
                        "test_error",
                    )
                ),
                flush=True,
            )


def net_row(panel, factor, variant, net, history, seconds, *, c=math.nan, d=math.nan, note=""):
    last = history.iloc[-1]
    return dict(
        panel=panel,
        factor=factor,
        variant=variant,
        N=net.width,
        L=net.depth,
        seed=net._realisation,
        init_seed=int(last.get("init_seed", net.seed)),
        draw=int(last.get("draw", 0)),
        epochs=int(last.epoch),
        accuracy=1 - float(last.test_error),
        train_accuracy=1 - float(last.train_error),
        test_error=float(last.test_error),
        Llam_c=c,
        Llam_d=d,
        contrast=d - c,
        seconds=round(seconds, 1),
        note=note,
    )


def nets_for(settings, N, L, *, mode="full", seeds=SEEDS, **replace):
    nets = []
    for seed in seeds:
        net = circle_net(settings, N, L, 0.0, seed, mode=mode)
        net = dataclasses.replace(net, **replace) if replace else net
        object.__setattr__(net, "_realisation", seed)  # the wildcard seed, for the table
        nets.append(net)
    return nets


def train_measured(
    table,
    data,
    circle,
    factor,
    variant,
    settings,
    *,
    widths=WIDTHS_B,
    depths=DEPTHS_B,
    context=contextlib.nullcontext,
    measures=None,
    note="",
    trainer=None,
):
    """Train the nets of one Fig. 3(b) variant (both seeds of a layout as one population job,
    as the pipeline does) and append their rows; ``measures``: extra (factor, variant) -> key
    rows measured on the same nets."""
    fb = circle["fig3b"]
    measures = dict(measures or {})
    for L in depths:
        for N in widths:
            nets = nets_for(settings, N, L)
            wanted = [(factor, variant, "trunk")] + [(f, v, k) for (f, v), k in measures.items()]
            probe = [
                dict(panel="3b", factor=f, variant=v, N=N, L=L, seed=n._realisation)
                for f, v, _ in wanted
                for n in nets
            ]
            if table.has(probe):
                continue
            print(f"[3b] {factor} / {variant}: N = {N}, L = {L}", flush=True)
            t0 = time.perf_counter()
            with context():
                if trainer is None:
                    results = train_circle_nets(nets, data, progress=False, on_diverge="continue")
                else:
                    results = [trainer(n, data) for n in nets]
            seconds = (time.perf_counter() - t0) / len(nets)
            rows = []
            for net, res in zip(nets, results, strict=True):
                if isinstance(res, Exception):
                    print(f"  diverged: {res}", flush=True)
                    continue
                model, history = res[0], res[1]
                m = measure(model, fb["grid"], fb["boundary_delta"], fb["centre_radius"])
                for f, v, k in wanted:
                    c, d = m[k]
                    rows.append(
                        net_row(
                            "3b",
                            f,
                            v,
                            net,
                            history,
                            seconds,
                            c=c,
                            d=d,
                            note=note if k == "trunk" else f"baseline nets, {k}",
                        )
                    )
            table.add(rows)
            yield nets, results


def run_3b(table, data, circle, job):
    base = settings_for(circle, "fig3b")
    if job == "baseline":
        # baseline nets, every way of measuring them; then 'redraws off' from the same draws
        for _nets, _results in train_measured(
            table,
            data,
            circle,
            "baseline",
            "default",
            base,
            measures={k: v for k, v in MEASURES.items() if k[0] != "baseline"},
        ):
            pass
        return
    if job == "redraws_off":
        off = settings_for(circle, "fig3b", redraws=0)
        old = pd.read_csv(table.path, sep="\t")
        b = old[(old.factor == "baseline") & (old.panel == "3b")]
        fb = circle["fig3b"]
        for L in sorted(b.L.unique()):
            for N in WIDTHS_B:
                for net in nets_for(off, N, int(L)):
                    row = dict(
                        panel="3b", factor="redraws", variant="off", N=N, L=L, seed=net._realisation
                    )
                    if table.has([row]):
                        continue
                    hit = b[(b.N == N) & (b.L == L) & (b.seed == net._realisation)]
                    if len(hit) and int(hit.draw.iloc[0]) == 0:
                        table.add(
                            [
                                dict(
                                    hit.iloc[0].to_dict(),
                                    factor="redraws",
                                    variant="off",
                                    note="= baseline (first draw kept)",
                                )
                            ]
                        )
                        continue
                    t0 = time.perf_counter()
                    model, history = train_circle_nets([net], data, progress=False)[0][:2]
                    c, d = measure(model, fb["grid"], fb["boundary_delta"], fb["centre_radius"])[
                        "trunk"
                    ]
                    table.add(
                        [
                            net_row(
                                "3b",
                                "redraws",
                                "off",
                                net,
                                history,
                                time.perf_counter() - t0,
                                c=c,
                                d=d,
                                note="first draw, below the floor",
                            )
                        ]
                    )
        return
    if job == "output_linear":
        for _ in train_measured(
            table,
            data,
            circle,
            "output",
            "linear",
            base,
            context=linear_output,
            measures={("output", "linear, to output, /(L+1)"): "field/(L+1)"},
        ):
            pass
        return
    variants = {
        "first_layer_width": ("first_layer", "width (1/N)", dict(first_layer="width"), {}),
        "constant_20": ("schedule", "constant, 20 ep", dict(train=dict(schedule="constant")), {}),
        "sigma_theta_1": ("thresholds", "sigma_theta = 1, trained", dict(sigma_theta=1.0), {}),
        "lr_width_none": ("lr_width", "none", dict(train=dict(lr_width=None)), dict(widths=(160,))),
        "constant_200": (
            "schedule",
            "constant, 200 ep",
            dict(train=dict(schedule="constant"), epochs=200),
            dict(widths=(4, 25)),
        ),
        "cosine_200": ("schedule", "cosine, 200 ep", dict(epochs=200), dict(widths=(4, 25))),
        "frozen_thresholds": (
            "thresholds",
            "frozen at 0 (hidden)",
            dict(redraws=0),
            dict(widths=(4, 25), depths=(4,), trainer=train_frozen_thresholds),
        ),
        "untrained": ("schedule", "untrained (0 epochs)", dict(epochs=0, redraws=0), {}),
        "constant_200_lr0.01": (
            "schedule",
            "constant lr 0.01, 200 ep",
            dict(train=dict(schedule="constant", lr=0.01), epochs=200),
            dict(widths=(4, 25)),
        ),
        "baseline_L2_L8": (
            "baseline",
            "default",
            {},
            dict(depths=(2, 8), measures={k: v for k, v in MEASURES.items() if k[0] != "baseline"}),
        ),
        "first_layer_width_plane": (
            "first_layer",
            "width (1/N)",
            dict(first_layer="width"),
            dict(measures=WIDTH_PLANE),
        ),
        "first_layer_width_L2_L8": (
            "first_layer",
            "width (1/N)",
            dict(first_layer="width"),
            dict(depths=(2, 8), measures=WIDTH_PLANE),
        ),
    }
    factor, variant, override, kw = variants[job]
    settings = settings_for(circle, "fig3b", **override)
    for _ in train_measured(table, data, circle, factor, variant, settings, **kw):
        pass
    if job == "lr_width_none":  # N <= 100: lr_width changes nothing, the baseline's nets
        old = pd.read_csv(table.path, sep="\t")
        b = old[
            (old.factor == "baseline") & (old.panel == "3b") & (old.N != 160) & old.L.isin(DEPTHS_B)
        ]
        table.add(
            [
                dict(
                    r,
                    factor="lr_width",
                    variant="none",
                    note="= baseline (lr unchanged for N <= 100)",
                )
                for r in b.to_dict("records")
            ]
        )


def run_3a(table, data, circle, job):
    fa = circle["fig3a"]
    L = fa["depth"]
    variants = {
        "rf_default": ("random features", "default (fan_in, sigma_theta 1, lstsq)", "readout", {}),
        "rf_width": (
            "random features",
            "first layer width (1/N)",
            "readout",
            dict(first_layer="width"),
        ),
        "rf_theta_0.5": ("random features", "sigma_theta = 0.5", "readout", dict(sigma_theta=0.5)),
        "rf_theta_2": ("random features", "sigma_theta = 2", "readout", dict(sigma_theta=2.0)),
        "rf_sgd": (
            "random features",
            "SGD readout (20 ep, cosine)",
            "readout",
            dict(readout=dict(solver="sgd")),
        ),
        "full_default": (
            "full training",
            "default (fan_in, sigma_theta 1, cosine 20 ep)",
            "full",
            {},
        ),
        "full_width": (
            "full training",
            "first layer width (1/N)",
            "full",
            dict(first_layer="width"),
        ),
        "full_theta_0": ("full training", "sigma_theta = 0", "full", dict(sigma_theta=0.0)),
        "full_constant_20": (
            "full training",
            "constant, 20 ep",
            "full",
            dict(train=dict(schedule="constant")),
        ),
        "full_constant_200": (
            "full training",
            "constant, 200 ep",
            "full",
            dict(train=dict(schedule="constant"), epochs=200),
        ),
    }
    factor, variant, mode, override = variants[job]
    settings = settings_for(circle, "fig3a", readout_mode=(mode == "readout"), **override)
    for N in WIDTHS_A:
        nets = nets_for(settings, N, L, mode=mode)
        probe = [
            dict(panel="3a", factor=factor, variant=variant, N=N, L=L, seed=n._realisation)
            for n in nets
        ]
        if table.has(probe):
            continue
        print(f"[3a] {factor} / {variant}: N = {N}", flush=True)
        t0 = time.perf_counter()
        if mode == "readout" and nets[0].readout_solver == "lstsq":
            results = [train_circle(n, data, progress=False) for n in nets]
        else:
            results = train_circle_nets(nets, data, progress=False, on_diverge="continue")
        seconds = (time.perf_counter() - t0) / len(nets)
        table.add(
            [
                net_row("3a", factor, variant, n, r[1], seconds)
                for n, r in zip(nets, results, strict=True)
                if not isinstance(r, Exception)
            ]
        )


JOBS_3B = [
    "baseline",
    "redraws_off",
    "output_linear",
    "first_layer_width",
    "constant_20",
    "sigma_theta_1",
    "lr_width_none",
    "frozen_thresholds",
]
JOBS_3A = [
    "rf_default",
    "rf_width",
    "rf_theta_0.5",
    "rf_theta_2",
    "rf_sgd",
    "full_default",
    "full_width",
    "full_theta_0",
    "full_constant_20",
]
JOBS_LATE = [
    "constant_200",
    "full_constant_200",
    "baseline_L2_L8",
    "cosine_200",
    "constant_200_lr0.01",
    "first_layer_width_plane",
    "first_layer_width_L2_L8",
    "untrained",
]
JOBS = JOBS_3B + JOBS_3A + JOBS_LATE + ["redraws_off"]  # again: the L = 2, 8 baseline nets


# ----------------------------------------------------------------------------- summary

# the published Fig. 3(b), read off the figure (dashed: centre, solid: boundary), +-0.1; its
# axis runs from N ~ 5 to ~ 150, so 'N = 4' and 'N = 160' are its first and last points
PUBLISHED_C = {
    (2, 4): 0.7,
    (4, 4): 0.1,
    (8, 4): -1.05,
    (12, 4): -2.25,
    (2, 25): 1.0,
    (4, 25): 1.3,
    (8, 25): 0.75,
    (12, 25): -0.1,
    (2, 160): 1.3,
    (4, 160): 2.05,
    (8, 160): 2.2,
    (12, 160): 1.6,
}
PUBLISHED_D = {
    (2, 4): 1.1,
    (4, 4): 2.2,
    (8, 4): 2.9,
    (12, 4): 3.0,
    (2, 25): 1.3,
    (4, 25): 2.3,
    (8, 25): 3.0,
    (12, 25): 3.2,
    (2, 160): 1.3,
    (4, 160): 2.15,
    (8, 160): 3.0,
    (12, 160): 3.4,
}


def _fit_c(rows) -> float:
    rows = rows.rename(columns={"Llam_c": "lam_c", "Llam_d": "lam_d"})
    return fit_crossover(rows)["C_c"] if len(rows) else math.nan


def _published_rows(cells):
    return pd.DataFrame(
        [
            dict(N=N, L=L, Llam_c=PUBLISHED_C[(L, N)], Llam_d=math.nan)
            for L, N in cells
            if (L, N) in PUBLISHED_C
        ]
    )


def summary(path: Path):
    """Markdown tables: per factor, the means over seeds of each variant against the baseline
    and the published values; C_c fitted on the (N, L) cells the variant has (the baseline's
    and the published C_c on the same cells beside it)."""
    t = pd.read_csv(path, sep="\t")
    b = t[t.panel == "3b"]
    base = b[(b.factor == "baseline")]
    fmt = lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.2f}"  # noqa: E731
    cols = [
        ("c", 4, 4),
        ("c", 12, 4),
        ("d", 4, 4),
        ("d", 12, 4),
        ("k", 4, 25),
        ("k", 12, 25),
        ("k", 4, 160),
        ("k", 12, 160),
    ]
    head = (
        "| factor | variant | "
        + " | ".join(
            {"c": "L⟨λ₁⟩_c", "d": "L⟨λ₁⟩_d", "k": "contrast"}[q] + f" L={L} N={N}"
            for q, L, N in cols
        )
        + " | C_c (cells) | C_c baseline / published, same cells"
        " | accuracy min / mean | redrawn |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]

    def cell(g, q, L, N):
        g = g[(g.L == L) & (g.N == N)]
        if not len(g):
            return math.nan
        return {"c": g.Llam_c, "d": g.Llam_d, "k": g.contrast}[q].mean()

    pubrow = {("c", L, N): PUBLISHED_C.get((L, N), math.nan) for _, L, N in cols}
    pubrow.update({("d", L, N): PUBLISHED_D.get((L, N), math.nan) for _, L, N in cols})
    pubrow.update(
        {
            ("k", L, N): PUBLISHED_D.get((L, N), math.nan) - PUBLISHED_C.get((L, N), math.nan)
            for _, L, N in cols
        }
    )
    all_cells = [(L, N) for L in DEPTHS_B for N in WIDTHS_B]
    pub_line = (
        "| published | (read off Fig. 3b) | "
        + " | ".join(fmt(pubrow[c]) for c in cols)
        + f" | {fmt(_fit_c(_published_rows(all_cells)))} (6) | | ≥ 99 | |"
    )
    by_factor = {}
    for (f, v), g in b.groupby(["factor", "variant"], sort=False):
        cells = sorted(
            {
                (int(L), int(N))
                for L, N in zip(g.L, g.N, strict=True)
                if L in DEPTHS_B and N in WIDTHS_B
            }
        )
        gc = g[[(int(L), int(N)) in cells for L, N in zip(g.L, g.N, strict=True)]]
        bc = base[[(int(L), int(N)) in cells for L, N in zip(base.L, base.N, strict=True)]]
        g4 = g[g.L.isin(DEPTHS_B)]  # accuracy and redraws over the cells shown
        line = (
            f"| {f} | {v} | "
            + " | ".join(fmt(cell(g, *c)) for c in cols)
            + f" | {fmt(_fit_c(gc))} ({len(cells)}) | {fmt(_fit_c(bc))} / "
            f"{fmt(_fit_c(_published_rows(cells)))} | {g4.accuracy.min() * 100:.2f} / "
            f"{g4.accuracy.mean() * 100:.2f} | {int((g4.draw > 0).sum())} of {len(g4)} |"
        )
        by_factor.setdefault(f, []).append(line)
    base_line = by_factor["baseline"][0]
    for f, rows in by_factor.items():
        print(f"\n#### {f}\n")
        print("\n".join(lines + [pub_line] + ([base_line] if f != "baseline" else []) + rows))
    full = base[base.L.isin([2, 4, 8, 12])]
    if full.L.nunique() == 4:
        print()
        print(
            "baseline over L = 2, 4, 8, 12 (N = 4, 25, 160): C_c "
            f"{_fit_c(full):.3f}; published on the same cells "
            f"{_fit_c(_published_rows([(L, N) for L in (2, 4, 8, 12) for N in WIDTHS_B])):.3f}"
        )
        for (f, v), g in b.groupby(["factor", "variant"], sort=False):
            if g.L.nunique() == 4:
                m = g.groupby(["L", "N"]).Llam_c.mean().unstack().round(2)
                print(f"{f} / {v}: C_c {_fit_c(g):.3f}\n{m.to_string()}")
    a = t[t.panel == "3a"]
    if len(a):
        print()
        m = (
            a.pivot_table(index=["factor", "variant"], columns="N", values="test_error", sort=False)
            * 100
        )
        print(
            "| factor | variant | " + " | ".join(f"test error N={N} (%)" for N in m.columns) + " |"
        )
        print("|" + "---|" * (len(m.columns) + 2))
        for (f, v), r in m.iterrows():
            print(f"| {f} | {v} | " + " | ".join(f"{x:.3f}" for x in r) + " |")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "fig3-causes.tsv")
    p.add_argument(
        "--jobs",
        default=",".join(JOBS),
        help=f"comma-separated, run in order; all: {','.join(JOBS)}",
    )
    p.add_argument("--summary", action="store_true", help="print the means and fits, train nothing")
    args = p.parse_args(argv)
    if args.summary:
        summary(args.out)
        return
    torch.set_num_threads(1)
    circle = circle_config()
    d = circle["data"]
    data = circle_data(d["n_train"], d["n_test"], d["seed"])
    table = Table(args.out)
    for job in args.jobs.split(","):
        if job not in JOBS:
            sys.exit(f"unknown job {job!r}; known: {JOBS}")
        t0 = time.perf_counter()
        print(f"== {job}", flush=True)
        (run_3a if job in JOBS_3A or job == "full_constant_200" else run_3b)(
            table, data, circle, job
        )
        print(f"== {job} done in {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
