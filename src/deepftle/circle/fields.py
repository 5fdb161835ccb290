r"""FTLE fields of a circle-problem net over its input plane.

- :func:`field_on_grid`: :math:`\lambda_1, \lambda_2`, :math:`v_1` and the output ``O`` on a
  regular grid over the input square (Figures 1-3).
- :func:`snapshot_lam1`: :math:`\lambda_1` over a set of inputs for each weight snapshot, and
  :func:`summarise_lam1`, its quantiles per epoch (Fig. S1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..ftle import ftle
from ..nets.mlp import MLP

__all__ = ["grid_axes", "field_on_grid", "snapshot_lam1", "summarise_lam1"]


def grid_axes(n: int, lim: float = 1.0) -> np.ndarray:
    return np.linspace(-lim, lim, n)


@torch.no_grad()
def _output(model, x, batch=65536):
    return torch.cat([model(x[i : i + batch]).reshape(-1) for i in range(0, len(x), batch)])


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
    return dict(
        x1=ax,
        x2=ax,
        lam1=as_np(lam[:, 0]).reshape(n, n),
        lam2=as_np(lam[:, 1]).reshape(n, n),
        v1=as_np(vec[:, :, 0]).reshape(n, n, 2),
        output=as_np(out).reshape(n, n),
    )


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


def summarise_lam1(s: float, epochs: np.ndarray, lam1: np.ndarray) -> pd.DataFrame:
    """Median and 10/90 % quantiles of the finite lambda_1 over inputs at each epoch; the
    number of -inf values (singular J) is counted."""
    finite = np.where(np.isfinite(lam1), lam1, np.nan)
    with np.errstate(invalid="ignore"):
        q = np.nanquantile(finite, [0.1, 0.5, 0.9], axis=1)
    return pd.DataFrame(
        dict(
            s=s,
            epoch=epochs,
            q10=q[0],
            median=q[1],
            q90=q[2],
            half_s=0.5 * s,
            n_neg_inf=np.isneginf(lam1).sum(axis=1),
        )
    )
