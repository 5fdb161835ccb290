r"""The circle problem's stages (Figures 1-3): build, train and probe one network.

Each function is the body of one pipeline rule (``workflow/rules/toy.smk``):

- :func:`make_net`: tanh MLP, ``L`` hidden layers of ``N``, one tanh output; one
  :math:`\sigma_w` for every hidden layer with :math:`\log(G N \sigma_w^2) = s` (mean-field
  gain ``G``, see :mod:`deepftle.model`), thresholds :math:`N(0, \sigma_\theta^2)`.
- :func:`toy_net`: the one place where a job's training settings are built from config
  (:class:`ToyNet`: architecture, init, seed, :class:`deepftle.train.TrainConfig`).
- :func:`train_toy`: ``mode="full"`` trains every weight on the energy
  :math:`H = \tfrac12\langle (t - O)^2\rangle` (a population of one,
  :func:`deepftle.population.train_population`: :func:`deepftle.train.train` up to rounding);
  ``mode="readout"`` keeps the hidden
  layers at their random initial weights and fits the output unit only, either by
  :func:`fit_readout_lstsq` (default: ridge least squares of the output's local field on the
  random features, the convex optimum of the linearised energy; it cannot diverge at any
  width) or by SGD. SGD learning rates follow :func:`deepftle.train.width_scaled_lr`
  (``lr * min(1, lr_width / N)``) in both modes.
- :func:`field_on_grid`: :math:`\lambda_1, \lambda_2`, :math:`v_1` and the output ``O`` on a
  regular grid over the input square.
- :func:`crossover_means`: :math:`L\langle\lambda_1\rangle` on the decision boundary and in
  the centre of the input plane (Fig. 3b).
- :func:`snapshot_lam1`: :math:`\lambda_1` over a set of inputs for each weight snapshot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .data import job_seed
from .ftle import ftle
from .model import MLP, init_mlp
from .population import train_population
from .ridges import boundary_centre_means
from .train import TrainConfig, energy_loss, evaluate, sign_error, train_config

__all__ = ["ToyNet", "toy_net", "redraw_seed", "make_net", "fit_readout_lstsq", "train_toy", "field_on_grid",
           "crossover_means", "snapshot_lam1"]


def make_net(width: int, depth: int, s: float, sigma_theta: float, seed: int,
             first_layer: str = "width"):
    """A seeded random tanh network (:func:`deepftle.model.init_mlp`); returns
    ``(model, sigma_w)``."""
    net = MLP(d_in=2, width=width, depth=depth, activation="tanh", output="tanh")
    sigma_w = init_mlp(net, torch.Generator().manual_seed(seed), s=s, sigma_theta=sigma_theta,
                       first_layer=first_layer)
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
class ToyNet:
    """Everything that decides how one circle-problem net is initialised and trained (built
    once from config by :func:`toy_net`)."""

    width: int
    depth: int
    s: float
    sigma_theta: float
    seed: int
    mode: str                     # "full" or "readout"
    train: TrainConfig
    readout_solver: str = "lstsq"  # mode readout: "lstsq" or "sgd"
    ridge: float = 1e-6            # lstsq: relative ridge
    first_layer: str = "width"     # the first layer's variance: "width" (as the others), "fan_in"
    floor: float = 0.0             # training accuracy a realisation must reach, else redrawn
    redraws: int = 0               # at most this many fresh initialisations (redraw_seed)

    def __post_init__(self):
        if self.mode not in ("full", "readout"):
            raise ValueError(f"mode must be full or readout, got {self.mode!r}")
        if self.readout_solver not in ("lstsq", "sgd"):
            raise ValueError(f"readout solver must be lstsq or sgd, got {self.readout_solver!r}")
        if self.redraws < 0 or (self.redraws and not 0 < self.floor <= 1):
            raise ValueError(f"redraws must be >= 0 and need a floor in (0, 1], got "
                             f"{self.redraws!r}, {self.floor!r}")


def redraw_seed(seed: int, draw: int) -> int:
    """The initialisation seed of a realisation's ``draw``-th redraw (``draw = 0``: ``seed``)."""
    return seed if draw == 0 else job_seed(seed, "redraw", draw)


def toy_net(settings: dict, N: int, L: int, s: float, seed: int, mode: str = "full") -> ToyNet:
    """The :class:`ToyNet` of one pipeline job from the selected config.

    ``settings``: ``seed`` (the base seed ``toy.seed``), ``train`` (``toy.train``),
    ``experiment`` (``sigma_theta``, ``epochs``, optional ``snapshot_every`` and
    ``first_layer``, ``redraws`` with ``min_accuracy`` of the figure's block) and, for
    ``mode="readout"``, ``readout`` (``toy.readout``). The net's seed is
    :func:`deepftle.data.job_seed` of the base seed and the job's wildcards; the learning rate
    follows :func:`deepftle.train.width_scaled_lr`.
    """
    exp = settings["experiment"]
    every = exp.get("snapshot_every")
    snaps = range(0, int(exp["epochs"]) + 1, int(every)) if every else ()
    cfg = train_config(settings["train"], width=int(N), epochs=exp["epochs"],
                       readout_only=(mode == "readout"), snapshot_epochs=snaps)
    readout = (settings.get("readout") or {}) if mode == "readout" else {}
    return ToyNet(width=int(N), depth=int(L), s=float(s), sigma_theta=float(exp["sigma_theta"]),
                  seed=job_seed(settings["seed"], int(N), int(L), f"{float(s):g}", int(seed)),
                  mode=mode, train=cfg, readout_solver=readout.get("solver", "lstsq"),
                  ridge=float(readout.get("ridge", 1e-6)),
                  first_layer=exp.get("first_layer", "width"),
                  floor=float(exp.get("min_accuracy", 0.0)) if mode == "full" else 0.0,
                  redraws=int(exp.get("redraws", 0)) if mode == "full" else 0)


def train_toy(net: ToyNet, data: dict, device="cpu", progress: bool = True):
    """Initialise and train one network on the circle data (``data``: tensors from
    :func:`deepftle.data.circle_data`). Returns ``(model, history, snapshots, sigma_w)``."""
    model, sigma_w = make_net(net.width, net.depth, net.s, net.sigma_theta, net.seed,
                              net.first_layer)
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
            rows.append(dict(epoch=epoch, loss=loss, train_error=err, test_loss=test_loss,
                             test_error=test_err, lr=math.nan))
        for p in model.trunk.parameters():
            p.requires_grad_(False)
        return model, pd.DataFrame(rows), {}, sigma_w
    result = train_population([model], tr, te, net.train, energy_loss, sign_error, [gen],
                              progress=progress)[0]
    if isinstance(result, Exception):
        raise result
    history, snapshots = result
    return model, history, snapshots, sigma_w


def grid_axes(n: int, lim: float = 1.0) -> np.ndarray:
    return np.linspace(-lim, lim, n)


@torch.no_grad()
def _output(model, x, batch=65536):
    return torch.cat([model(x[i:i + batch]).reshape(-1) for i in range(0, len(x), batch)])


def field_on_grid(model: MLP, n: int = 201, lim: float = 1.0, device="cpu") -> dict:
    r"""FTLE field on an ``n`` x ``n`` grid over :math:`[-\mathrm{lim}, \mathrm{lim}]^2`.

    Returns numpy arrays ``x1``, ``x2`` (n,), ``lam1``, ``lam2``, ``output`` (n, n) and ``v1``
    (n, n, 2); index ``[i, j]`` is the point ``(x1[j], x2[i])``; ``v1`` has unit length, its sign
    is arbitrary.
    """
    model = model.to(device).eval()
    ax = grid_axes(n, lim)
    X1, X2 = np.meshgrid(ax, ax)
    dtype = next(model.parameters()).dtype
    x = torch.as_tensor(np.column_stack([X1.ravel(), X2.ravel()]), dtype=dtype, device=device)
    lam, vec = ftle(model.trunk, x, k=2, return_directions=True)
    out = _output(model, x)
    as_np = lambda a: a.detach().cpu().double().numpy()  # noqa: E731
    return dict(x1=ax, x2=ax, lam1=as_np(lam[:, 0]).reshape(n, n),
                lam2=as_np(lam[:, 1]).reshape(n, n),
                v1=as_np(vec[:, :, 0]).reshape(n, n, 2), output=as_np(out).reshape(n, n))


def crossover_means(model: MLP, grid: int, lim: float, delta: float, centre_radius: float,
                    device="cpu") -> tuple[float, float]:
    r"""``(lam_d, lam_c)`` of one net: :math:`L\langle\lambda_1\rangle` on the decision boundary
    and in the centre (:func:`deepftle.ridges.boundary_centre_means`) of its field on a
    ``grid`` x ``grid`` grid over :math:`[-\mathrm{lim}, \mathrm{lim}]^2`."""
    f = field_on_grid(model, grid, lim, device)
    return boundary_centre_means(f["x1"], f["x2"], model.arch["depth"] * f["lam1"],
                                 f["output"], delta, centre_radius)


def snapshot_lam1(model: MLP, snapshots: dict, x: torch.Tensor, device="cpu") -> tuple:
    """``(epochs, lam1)``: λ1 at each input (columns) for each snapshot epoch (rows, sorted)."""
    epochs = sorted(int(e) for e in snapshots)
    model = model.to(device).eval()
    x = x.to(device)
    rows = []
    for e in epochs:
        model.load_state_dict(snapshots[e])
        rows.append(ftle(model.trunk, x, k=1)[:, 0].detach().cpu().double().numpy())
    return np.asarray(epochs), np.stack(rows) if rows else np.empty((0, len(x)))
