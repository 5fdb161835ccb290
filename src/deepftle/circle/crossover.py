r"""The crossover of Fig. 3(b): where the FTLE ridge on the decision boundary stops standing
out of the background.

- :math:`L\langle\lambda_1\rangle_d`, **on the decision boundary**: the mean of
  :math:`L\lambda_1` over the grid points within distance :math:`\delta` of the zero contour
  :math:`O = 0` of the network's output (contour by linear interpolation on the grid);
- :math:`L\langle\lambda_1\rangle_c`, **in the centre**: the mean over grid points with
  :math:`|x| < r_c`;
- the fit :math:`L\langle\lambda_1\rangle_c \approx -C_c L + \log N` (one parameter, least
  squares over every net) and :math:`C_d` = the mean of :math:`L\langle\lambda_1\rangle_d`
  over widths at the deepest :math:`L`; the contrast vanishes near
  :math:`N_c = \exp(C_d + C_c L)`.

:func:`crossover_means` computes both means for one net (its field by
:func:`deepftle.circle.fields.field_on_grid`).
"""

from __future__ import annotations

import math

import numpy as np

from ..nets.mlp import MLP
from .fields import field_on_grid
from .ridges import grid_distance

__all__ = ["crossover_means", "boundary_centre_means", "fit_crossover", "fit_crossover_arrays"]


def crossover_means(
    model: MLP, *, grid: int, lim: float, delta: float, centre_radius: float, device="cpu"
) -> tuple[float, float]:
    r"""``(lam_d, lam_c)`` of one net: :math:`L\langle\lambda_1\rangle` on the decision boundary
    and in the centre (:func:`boundary_centre_means`) of its field on a
    ``grid`` x ``grid`` grid over :math:`[-\mathrm{lim}, \mathrm{lim}]^2`."""
    f = field_on_grid(model, grid, lim, device)
    return boundary_centre_means(
        f["x1"],
        f["x2"],
        model.arch["depth"] * f["lam1"],
        f["output"],
        delta=delta,
        centre_radius=centre_radius,
    )


def boundary_centre_means(
    x1: np.ndarray,
    x2: np.ndarray,
    L_lam1: np.ndarray,
    out: np.ndarray,
    *,
    delta: float,
    centre_radius: float,
) -> tuple[float, float]:
    """``(lam_d, lam_c)``: the mean of ``L_lam1`` over the finite grid points within ``delta``
    of the decision boundary O = 0, and over those with ``|x| < centre_radius``. NaN when a
    set is empty (no boundary on the grid, or no grid point that close)."""
    if not delta > 0 or not centre_radius > 0:
        raise ValueError(f"need delta > 0 and centre_radius > 0, got {delta}, {centre_radius}")
    pts, d, _ = grid_distance(x1, x2, out)
    v = np.asarray(L_lam1, dtype=float).ravel()
    finite = np.isfinite(v)
    near = (d < delta) & finite
    centre = (np.linalg.norm(pts, axis=1) < centre_radius) & finite
    return (
        float(v[near].mean()) if near.any() else math.nan,
        float(v[centre].mean()) if centre.any() else math.nan,
    )


def _slope(x, y):
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    xc = x - x.mean()
    sxx = float((xc * xc).sum())
    return float((xc * y).sum()) / sxx if sxx > 0 else math.nan


def fit_crossover(table) -> dict:
    r"""Fit the crossover of Fig. 3(b) on a table with columns N, L, lam_d, lam_c (one row per
    net; rows with a NaN are left out).

    Returns ``C_c`` (least squares of :math:`\mathrm{lam\_c} - \log N = -C_c L`), ``C_d``
    (mean lam_d at the deepest L), ``logN_slope`` (mean over L of the slope of lam_c against
    log N; 1 for :math:`\log N` growth), ``d_saturation`` (absolute slope of the mean lam_d
    per unit L between the two deepest L over its slope between the two shallowest, NaN
    unless that rises; < 1 when lam_d saturates), ``n_fit`` (rows used). Raises ValueError
    when no row is usable."""
    cols = [np.asarray(table[c], dtype=float) for c in ("N", "L", "lam_d", "lam_c")]
    return fit_crossover_arrays(*cols)


def fit_crossover_arrays(N, L, lam_d, lam_c) -> dict:
    """:func:`fit_crossover` on arrays (one entry per net): the form a bootstrap calls."""
    N, L = np.asarray(N, dtype=float), np.asarray(L, dtype=float)
    lam_d, lam_c = np.asarray(lam_d, dtype=float), np.asarray(lam_c, dtype=float)
    c = ~np.isnan(lam_c)
    if not c.any():
        raise ValueError("fit_crossover: no net with a finite centre average lam_c")
    Lc, resid = L[c], lam_c[c] - np.log(N[c])
    C_c = float(-(Lc * resid).sum() / (Lc**2).sum())
    d = ~np.isnan(lam_d)
    Ls = np.unique(L[d])
    means = np.array([lam_d[d & (L == v)].mean() for v in Ls])
    C_d = float(means[-1]) if Ls.size else math.nan
    saturation = math.nan
    if Ls.size >= 3:
        deep = (means[-1] - means[-2]) / (Ls[-1] - Ls[-2])
        shallow = (means[1] - means[0]) / (Ls[1] - Ls[0])
        saturation = float(abs(deep) / shallow) if shallow > 0 else math.nan
    slopes = [_slope(np.log(N[c & (L == v)]), lam_c[c & (L == v)]) for v in np.unique(Lc)]
    slopes = [x for x in slopes if math.isfinite(x)]
    return dict(
        C_c=C_c,
        C_d=C_d,
        logN_slope=float(np.mean(slopes)) if slopes else math.nan,
        d_saturation=saturation,
        n_fit=int(c.sum()),
    )
