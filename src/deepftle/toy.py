r"""The circle problem's stages (Figures 1-3): build, train and probe one network.

Each function is the body of one pipeline rule (``workflow/rules/toy.smk``):

- :func:`make_net`: tanh MLP, ``L`` hidden layers of ``N``, one tanh output; one
  :math:`\sigma_w` for every hidden layer with :math:`\log(G N \sigma_w^2) = s` (mean-field
  gain ``G``, see :mod:`deepftle.model`), thresholds :math:`N(0, \sigma_\theta^2)`.
- :func:`train_toy`: ``mode="full"`` trains every weight with :func:`deepftle.train.train`
  (energy :math:`H = \tfrac12\langle (t - O)^2\rangle`); ``mode="readout"`` keeps the hidden
  layers at their random initial weights and fits the output unit only, either by
  :func:`fit_readout_lstsq` (default: ridge least squares of the output's local field on the
  random features, the convex optimum of the linearised energy; it cannot diverge at any
  width) or by SGD with the learning rate scaled as ``lr * min(1, lr_width / N)``.
- :func:`field_on_grid`: :math:`\lambda_1, \lambda_2`, :math:`v_1` and the output ``O`` on a
  regular grid over the input square.
- :func:`snapshot_lam1`: :math:`\lambda_1` over a set of inputs for each weight snapshot.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from .ftle import ftle
from .model import MLP, init_mlp
from . import train as _train
from .train import TrainConfig, energy_loss, evaluate, sign_error

__all__ = ["make_net", "fit_readout_lstsq", "train_toy", "field_on_grid", "snapshot_lam1"]


def make_net(width: int, depth: int, s: float, sigma_theta: float, seed: int):
    """A seeded random tanh network; returns ``(model, sigma_w)``."""
    net = MLP(d_in=2, width=width, depth=depth, activation="tanh", output="tanh")
    sigma_w = init_mlp(net, torch.Generator().manual_seed(seed), s=s, sigma_theta=sigma_theta)
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


def train_toy(width: int, depth: int, s: float, sigma_theta: float, seed: int, mode: str,
              data: dict, train: dict, epochs: int, snapshot_epochs=(), readout: dict | None = None,
              device="cpu", progress: bool = True):
    """Initialise and train one network on the circle data.

    ``data``: tensors from :func:`deepftle.data.circle_data`; ``train``: optimizer, lr,
    batch_size, schedule, momentum, weight_decay; ``readout`` (mode ``readout``): solver
    (``lstsq`` or ``sgd``), ridge, lr_width. Returns ``(model, history, snapshots, sigma_w)``.
    """
    if mode not in ("full", "readout"):
        raise ValueError(f"mode must be full or readout, got {mode!r}")
    model, sigma_w = make_net(width, depth, s, sigma_theta, seed)
    model = model.to(device)
    tr = (data["x_train"].to(device), data["t_train"].to(device))
    te = (data["x_test"].to(device), data["t_test"].to(device))
    gen = torch.Generator().manual_seed(seed + 1)
    readout = readout or {}
    if mode == "readout" and readout.get("solver", "lstsq") == "lstsq":
        rows = []
        for epoch in (0, 1):
            if epoch == 1:
                fit_readout_lstsq(model, *tr, ridge=readout.get("ridge", 1e-6))
            loss, err = evaluate(model, *tr, energy_loss, sign_error)
            test_loss, test_err = evaluate(model, *te, energy_loss, sign_error)
            rows.append(dict(epoch=epoch, loss=loss, train_error=err, test_loss=test_loss,
                             test_error=test_err, lr=math.nan))
        for p in model.trunk.parameters():
            p.requires_grad_(False)
        return model, pd.DataFrame(rows), {}, sigma_w
    lr = train["lr"]
    if mode == "readout":
        lr = lr * min(1.0, readout.get("lr_width", 100) / width)
    cfg = TrainConfig(optimizer=train["optimizer"], lr=lr, epochs=epochs,
                      batch_size=train["batch_size"], schedule=train["schedule"],
                      momentum=train.get("momentum", 0.0),
                      weight_decay=train.get("weight_decay", 0.0),
                      readout_only=(mode == "readout"),
                      snapshot_epochs=tuple(int(e) for e in snapshot_epochs))
    history, snapshots = _train.train(model, tr, te, cfg, energy_loss, sign_error, gen, progress=progress)
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
