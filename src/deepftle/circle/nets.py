r"""The circle problem's nets (Figures 1-3): the training recipe, from config to trained net.

What the training rules (:mod:`deepftle.circle.stages`) are made of:

- :func:`make_net`: tanh MLP, ``L`` hidden layers of ``N``, one tanh output; one
  :math:`\sigma_w` for every hidden layer with :math:`\log(G N \sigma_w^2) = s` (mean-field
  gain ``G``, see :mod:`deepftle.nets.init`), thresholds :math:`N(0, \sigma_\theta^2)`.
- :func:`circle_net`: the one place where a job's training settings are built from config
  (:class:`CircleNet`: architecture, init, seed, :class:`deepftle.nets.train.TrainConfig`).
- :func:`train_circle`: ``mode="full"`` trains every weight on the energy
  :math:`H = \tfrac12\langle (t - O)^2\rangle` (a population of one,
  :func:`deepftle.nets.population.train_population`: :func:`deepftle.nets.train.train` up to
  rounding); ``mode="readout"`` keeps the hidden
  layers at their random initial weights and fits the output unit only, either by
  :func:`fit_readout_lstsq` (default: ridge least squares of the output's local field on the
  random features, the convex optimum of the linearised energy; it cannot diverge at any
  width) or by SGD. SGD learning rates follow :func:`deepftle.nets.train.width_scaled_lr`
  (``lr * min(1, lr_width / N)``) in both modes.
- :func:`train_circle_nets`: :func:`train_circle` for nets of one layout as one population job
  (:func:`circle_layout`), with redraws of realisations below the accuracy floor.

What is computed on the trained nets: :mod:`.fields` (FTLE fields), :mod:`.ridges`,
:mod:`.crossover`, :mod:`.claims`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import torch

from ..nets.init import init_mlp
from ..nets.mlp import MLP
from ..nets.population import train_population
from ..nets.train import (
    TrainConfig,
    TrainingDiverged,
    energy_loss,
    evaluate,
    sign_error,
    train_config,
)
from ..pipeline.seeds import job_seed

__all__ = [
    "CircleNet",
    "circle_net",
    "redraw_seed",
    "make_net",
    "fit_readout_lstsq",
    "train_circle",
    "circle_layout",
    "train_circle_nets",
]


def make_net(
    width: int, depth: int, *, s: float, sigma_theta: float, seed: int, first_layer: str = "width"
):
    """A seeded random tanh network (:func:`deepftle.nets.init.init_mlp`); returns
    ``(model, sigma_w)``."""
    net = MLP(d_in=2, width=width, depth=depth, activation="tanh", output="tanh")
    sigma_w = init_mlp(
        net,
        torch.Generator().manual_seed(seed),
        s=s,
        sigma_theta=sigma_theta,
        first_layer=first_layer,
    )
    return net, sigma_w


@torch.no_grad()
def fit_readout_lstsq(model: MLP, x: torch.Tensor, t: torch.Tensor, ridge: float = 1e-6) -> None:
    r"""Set the head to the ridge least-squares solution of :math:`w\cdot x^{(L)} - \theta = t`
    over the data (float64 normal equations; ``ridge`` is relative to the mean feature power)."""
    phi = model.trunk(x).double()
    phi = torch.cat([phi, torch.ones(len(phi), 1, dtype=phi.dtype, device=phi.device)], dim=1)
    gram = phi.T @ phi
    reg = ridge * float(torch.diagonal(gram).mean())
    gram += reg * torch.eye(gram.shape[0], dtype=gram.dtype, device=gram.device)
    w = torch.linalg.solve(gram, phi.T @ t.double().reshape(-1, 1)).reshape(-1)
    model.head.weight.copy_(w[:-1].reshape(model.head.weight.shape).to(model.head.weight.dtype))
    model.head.bias.copy_(w[-1:].to(model.head.bias.dtype))


@dataclass(frozen=True)
class CircleNet:
    """Everything that decides how one circle-problem net is initialised and trained (built
    once from config by :func:`circle_net`)."""

    width: int
    depth: int
    s: float
    sigma_theta: float
    seed: int
    mode: str  # "full" or "readout"
    train: TrainConfig
    readout_solver: str = "lstsq"  # mode readout: "lstsq" or "sgd"
    ridge: float = 1e-6  # lstsq: relative ridge
    first_layer: str = "width"  # the first layer's variance: "width" (as the others), "fan_in"
    floor: float = 0.0  # training accuracy a realisation must reach, else redrawn
    redraws: int = 0  # at most this many fresh initialisations (redraw_seed)

    def __post_init__(self):
        if self.mode not in ("full", "readout"):
            raise ValueError(f"mode must be full or readout, got {self.mode!r}")
        if self.readout_solver not in ("lstsq", "sgd"):
            raise ValueError(f"readout solver must be lstsq or sgd, got {self.readout_solver!r}")
        if self.redraws < 0 or (self.redraws and not 0 < self.floor <= 1):
            raise ValueError(
                f"redraws must be >= 0 and need a floor in (0, 1], got "
                f"{self.redraws!r}, {self.floor!r}"
            )


def redraw_seed(seed: int, draw: int) -> int:
    """The initialisation seed of a realisation's ``draw``-th redraw (``draw = 0``: ``seed``)."""
    return seed if draw == 0 else job_seed(seed, "redraw", draw)


def circle_net(
    settings: dict, N: int, L: int, s: float, seed: int, *, mode: str = "full"
) -> CircleNet:
    """The :class:`CircleNet` of one pipeline job from the selected config.

    ``settings``: ``seed`` (the base seed ``circle.seed``), ``train`` (``circle.train``),
    ``experiment`` (``sigma_theta``, ``epochs``, optional ``snapshot_every`` and
    ``first_layer``, ``redraws`` with ``min_accuracy`` of the figure's block) and, for
    ``mode="readout"``, ``readout`` (``circle.readout``). The net's seed is
    :func:`deepftle.pipeline.seeds.job_seed` of the base seed and the job's wildcards; the
    learning rate follows :func:`deepftle.nets.train.width_scaled_lr`.
    """
    exp = settings["experiment"]
    every = exp.get("snapshot_every")
    snaps = range(0, int(exp["epochs"]) + 1, int(every)) if every else ()
    cfg = train_config(
        settings["train"],
        width=int(N),
        epochs=exp["epochs"],
        readout_only=(mode == "readout"),
        snapshot_epochs=snaps,
    )
    readout = (settings.get("readout") or {}) if mode == "readout" else {}
    return CircleNet(
        width=int(N),
        depth=int(L),
        s=float(s),
        sigma_theta=float(exp["sigma_theta"]),
        seed=job_seed(settings["seed"], int(N), int(L), f"{float(s):g}", int(seed)),
        mode=mode,
        train=cfg,
        readout_solver=readout.get("solver", "lstsq"),
        ridge=float(readout.get("ridge", 1e-6)),
        first_layer=exp.get("first_layer", "width"),
        floor=float(exp.get("min_accuracy", 0.0)) if mode == "full" else 0.0,
        redraws=int(exp.get("redraws", 0)) if mode == "full" else 0,
    )


def train_circle(net: CircleNet, data: dict, device="cpu", *, progress: bool = True):
    """Initialise and train one network on the circle data (``data``: tensors from
    :func:`deepftle.circle.data.circle_data`). Returns ``(model, history, snapshots, sigma_w)``."""
    model, sigma_w = make_net(
        net.width,
        net.depth,
        s=net.s,
        sigma_theta=net.sigma_theta,
        seed=net.seed,
        first_layer=net.first_layer,
    )
    model = model.to(device)
    tr = (data["x_train"].to(device), data["t_train"].to(device))
    te = (data["x_test"].to(device), data["t_test"].to(device))
    gen = torch.Generator().manual_seed(net.seed + 1)
    if net.mode == "readout" and net.readout_solver == "lstsq":
        rows = []
        for epoch in (0, 1):
            if epoch == 1:
                fit_readout_lstsq(model, *tr, ridge=net.ridge)
            loss, err = evaluate(model, *tr, energy_loss, sign_error)
            test_loss, test_err = evaluate(model, *te, energy_loss, sign_error)
            rows.append(
                dict(
                    epoch=epoch,
                    loss=loss,
                    train_error=err,
                    test_loss=test_loss,
                    test_error=test_err,
                    lr=math.nan,
                )
            )
        for p in model.trunk.parameters():
            p.requires_grad_(False)
        return model, pd.DataFrame(rows), {}, sigma_w
    result = train_population(
        [model], tr, te, net.train, energy_loss, sign_error, [gen], progress=progress
    )[0]
    if isinstance(result, Exception):
        raise result
    history, snapshots = result
    return model, history, snapshots, sigma_w


def circle_layout(net) -> str:
    """What the members of one circle population share: every field of a :class:`CircleNet` but
    ``seed``, ``s`` and ``sigma_theta``."""
    shared = {
        k: v for k, v in dataclasses.asdict(net).items() if k not in ("seed", "s", "sigma_theta")
    }
    return json.dumps(shared, sort_keys=True, default=str)


def train_circle_nets(
    nets: Sequence, data: dict, device="cpu", *, progress: bool = True, on_diverge: str = "raise"
):
    """:func:`train_circle` for every :class:`CircleNet` of ``nets`` (one layout,
    :func:`circle_layout`), as one population job.

    Returns one ``(model, history, snapshots, sigma_w)`` per net, in order, equal to
    ``train_circle(net, data)``'s up to rounding: net initialised by :func:`make_net` from its
    seed, shuffled by ``Generator().manual_seed(seed + 1)``, trained with its ``TrainConfig``. A
    least-squares readout (``mode="readout"``, solver ``lstsq``) is a linear solve, not a
    training loop: it runs ``train_circle`` per net.

    Redraws (``net.redraws > 0``): a realisation whose final *training* accuracy is below
    ``net.floor`` (a local minimum: small nets can stay at 75 % for good) is initialised afresh
    from :func:`redraw_seed` and trained again, at most ``redraws`` times; the test set never
    enters the decision. Each history carries ``draw`` (0: the first
    initialisation) and ``init_seed`` in every row.
    """
    nets = list(nets)
    if not nets:
        raise ValueError("a circle population needs at least one net")
    layouts = {circle_layout(n) for n in nets}
    if len(layouts) != 1:
        raise ValueError(
            f"a circle population trains one layout; these nets differ in more than "
            f"seed, s and sigma_theta: {sorted(layouts)}"
        )
    first = nets[0]
    if first.mode == "readout" and first.readout_solver == "lstsq":
        return [_tag(train_circle(n, data, device, progress=progress), 0, n.seed) for n in nets]
    results = [
        _tag(r, 0, n.seed)
        for r, n in zip(
            _train_circle_once(nets, data, device, progress=progress, on_diverge=on_diverge),
            nets,
            strict=True,
        )
    ]
    for draw in range(1, first.redraws + 1):
        failed = [
            i
            for i, r in enumerate(results)
            if not isinstance(r, TrainingDiverged)
            and 1 - float(r[1].train_error.iloc[-1]) < first.floor
        ]
        if not failed:
            break
        redo = [dataclasses.replace(nets[i], seed=redraw_seed(nets[i].seed, draw)) for i in failed]
        print(
            f"redraw {draw}: {len(failed)} of {len(nets)} realisations below training "
            f"accuracy {first.floor:g}",
            file=sys.stderr,
            flush=True,
        )
        for i, net, r in zip(
            failed,
            redo,
            _train_circle_once(redo, data, device, progress=progress, on_diverge=on_diverge),
            strict=True,
        ):
            results[i] = _tag(r, draw, net.seed)
    return results


def _tag(result, draw: int, seed: int):
    """A training result with ``draw`` and ``init_seed`` columns in its history."""
    if isinstance(result, TrainingDiverged):
        return result
    model, history, snapshots, sigma_w = result
    return model, history.assign(draw=draw, init_seed=int(seed)), snapshots, sigma_w


def _train_circle_once(nets, data, device, *, progress, on_diverge):
    built = [
        make_net(
            n.width,
            n.depth,
            s=n.s,
            sigma_theta=n.sigma_theta,
            seed=n.seed,
            first_layer=n.first_layer,
        )
        for n in nets
    ]
    models = [model.to(device) for model, _ in built]
    tr = (data["x_train"].to(device), data["t_train"].to(device))
    te = (data["x_test"].to(device), data["t_test"].to(device))
    gens = [torch.Generator().manual_seed(n.seed + 1) for n in nets]
    results = train_population(
        models,
        tr,
        te,
        nets[0].train,
        energy_loss,
        sign_error,
        gens,
        progress=progress,
        on_diverge=on_diverge,
    )
    return [
        r if isinstance(r, TrainingDiverged) else (m, r[0], r[1], sw)
        for r, m, (_, sw) in zip(results, models, built, strict=True)
    ]
