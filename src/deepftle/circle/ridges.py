r"""Ridge metrics: put numbers on how FTLE ridges follow a network's decision boundary.

On a regular grid with the field :math:`L\lambda_1^{(L)}(x)` and the network output
:math:`O(x)`, the decision boundary is the zero contour :math:`O = 0`. With
:math:`d(x)` the distance of a grid point to that contour:

- **contrast**: mean of :math:`L\lambda_1` over points with :math:`d < \delta` minus its mean
  over the rest (finite values only);
- **alignment**: the fraction of the top ``top`` (default 5 %) grid points by :math:`\lambda_1`
  that lie within :math:`2\delta` of the boundary;
- **circle distance**: median of :math:`||x| - r_0|` over the same top points (where the ridges
  sit relative to the true circle);
- **orthogonality**: mean of :math:`|\cos(v_1, n)|` over points with :math:`d < \delta`, with
  :math:`n = \nabla O / |\nabla O|` the normal of the decision boundary (1: the maximal
  stretching direction crosses the ridge at right angles, as for a Lagrangian coherent
  structure);
- **random-readout orthogonality** (the baseline of the last): the mean of
  :math:`|\cos(v_1, J^\top u)|` over the same points for a readout ``u`` drawn uniformly
  from the sphere, given the point's :math:`\sigma_2/\sigma_1`
  (:func:`random_readout_cos`): where :math:`\sigma_1 \gg \sigma_2` any readout's gradient
  lies along :math:`v_1`, so the orthogonality of a ridge says more than this only when it
  exceeds it;
- **band fraction** (the baseline of the alignment): the fraction of grid points within
  :math:`2\delta` of the boundary, the alignment of points drawn at random;
- **centre and ridge levels**: :math:`L\lambda_1` at the grid point nearest the origin and
  its maximum along the ray from the origin along :math:`+x_1` (the points where the
  published colour levels are read).
"""

from __future__ import annotations

import math

import numpy as np

from .data import R0

__all__ = [
    "boundary_lines",
    "distance_to_lines",
    "grid_distance",
    "ridge_metrics",
    "boundary_normal_cos",
    "random_readout_cos",
]

# Gauss-Legendre nodes on (0, pi/2) for the random-readout integral
_PHI, _W = np.polynomial.legendre.leggauss(96)
_PHI, _W = (_PHI + 1) * np.pi / 4, _W * np.pi / 4


def random_readout_cos(ratio) -> np.ndarray:
    r""":math:`E|\cos(v_1, J^\top u)|` for ``u`` uniform on the unit sphere of J's output
    space, given ``ratio`` :math:`= \sigma_2/\sigma_1` of a rank-2 (two-input) Jacobian.

    With :math:`a = u\cdot u_1, b = u\cdot u_2`, :math:`J^\top u = \sigma_1 a v_1 + \sigma_2
    b v_2` and :math:`b/a` is standard Cauchy for any spherically symmetric ``u``, so the mean
    is :math:`\frac{2}{\pi}\int_0^{\pi/2} \cos\phi\,/\sqrt{\cos^2\phi + r^2\sin^2\phi}
    \,d\phi`: 1 at r = 0, 2/π at r = 1."""
    r = np.clip(np.asarray(ratio, dtype=float), 0.0, 1.0)[..., None]
    c, s = np.cos(_PHI), np.sin(_PHI)
    return (2 / np.pi) * (_W * c / np.sqrt(c * c + r * r * s * s)).sum(-1)


def boundary_lines(x1: np.ndarray, x2: np.ndarray, out: np.ndarray, level: float = 0.0):
    """Polylines of the contour ``out = level``; ``out`` has shape (len(x2), len(x1))."""
    import contourpy

    gen = contourpy.contour_generator(x1, x2, np.asarray(out, dtype=float))
    return [np.asarray(line) for line in gen.lines(level) if len(line) >= 2]


def _densify(lines, step: float) -> np.ndarray:
    pts = []
    for line in lines:
        for a, b in zip(line[:-1], line[1:], strict=True):
            n = max(1, int(math.ceil(np.linalg.norm(b - a) / step)))
            f = np.arange(n)[:, None] / n
            pts.append(a + f * (b - a))
        pts.append(line[-1:])
    return np.concatenate(pts) if pts else np.empty((0, 2))


def distance_to_lines(points: np.ndarray, lines, step: float = 1e-3) -> np.ndarray:
    """Distance of each of ``points`` (P, 2) to the polylines (inf when there are none)."""
    dense = _densify(lines, step)
    if len(dense) == 0:
        return np.full(len(points), np.inf)
    from scipy.spatial import cKDTree

    return cKDTree(dense).query(points)[0]


def grid_distance(x1, x2, out):
    """Grid points (P, 2) and their distance to the zero contour of ``out`` (and the lines)."""
    x1, x2 = np.asarray(x1, dtype=float), np.asarray(x2, dtype=float)
    out = np.asarray(out, dtype=float)
    if out.shape != (len(x2), len(x1)):
        raise ValueError(f"field shape {out.shape} does not match the grid ({len(x2)}, {len(x1)})")
    X1, X2 = np.meshgrid(x1, x2)
    pts = np.column_stack([X1.ravel(), X2.ravel()])
    lines = boundary_lines(x1, x2, out)
    return (
        pts,
        distance_to_lines(pts, lines, step=min(np.diff(x1).min(), np.diff(x2).min()) / 4),
        lines,
    )


def boundary_normal_cos(
    x1: np.ndarray, x2: np.ndarray, v1: np.ndarray, out: np.ndarray
) -> np.ndarray:
    r""":math:`|\cos(v_1, \nabla O)|` at every grid point (NaN where :math:`\nabla O = 0`);
    ``v1`` has shape (len(x2), len(x1), 2)."""
    d2, d1 = np.gradient(np.asarray(out, dtype=float), x2, x1)
    grad = np.stack([d1, d2], axis=-1)
    norm = np.linalg.norm(grad, axis=-1) * np.linalg.norm(v1, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, np.abs((grad * v1).sum(-1)) / norm, np.nan)


def ridge_metrics(
    x1: np.ndarray,
    x2: np.ndarray,
    L_lam1: np.ndarray,
    out: np.ndarray,
    *,
    delta: float = 0.05,
    top: float = 0.05,
    radius: float = R0,
    v1: np.ndarray | None = None,
    L_lam2: np.ndarray | None = None,
) -> dict:
    """Contrast, alignment and circle distance of one field (arrays of shape (len(x2), len(x1)),
    ``L_lam1[i, j]`` at ``(x1[j], x2[i])``). NaN where the output has no zero contour."""
    if not 0 < top <= 1 or not delta > 0:
        raise ValueError(f"need 0 < top <= 1 and delta > 0, got {top}, {delta}")
    pts, d, lines = grid_distance(x1, x2, out)
    v = np.asarray(L_lam1, dtype=float).ravel()
    finite = np.isfinite(v)
    res = dict(
        n_points=int(v.size),
        n_masked=int((~finite).sum()),
        boundary_length=float(
            sum(np.linalg.norm(np.diff(ln, axis=0), axis=1).sum() for ln in lines)
        ),
        mean_L_lam1=float(v[finite].mean()) if finite.any() else math.nan,
        std_L_lam1=float(v[finite].std()) if finite.any() else math.nan,
    )
    near = (d < delta) & finite
    far = (d >= delta) & finite
    res["contrast"] = (
        float(v[near].mean() - v[far].mean()) if near.any() and far.any() else math.nan
    )
    n_top = max(1, int(round(top * finite.sum())))
    order = np.argsort(np.where(finite, v, -np.inf))[::-1][:n_top]
    res["alignment"] = float((d[order] < 2 * delta).mean()) if lines else math.nan
    res["circle_distance"] = float(np.median(np.abs(np.linalg.norm(pts[order], axis=1) - radius)))
    res["band_fraction"] = float((d < 2 * delta).mean()) if lines else math.nan
    shape = np.asarray(out).shape
    centre = np.unravel_index(int(np.argmin(np.linalg.norm(pts, axis=1))), shape)
    res["L_lam1_centre"] = float(np.asarray(L_lam1, dtype=float)[centre])
    row = np.asarray(L_lam1, dtype=float)[centre[0], centre[1] :]
    res["L_lam1_ridge"] = float(np.nanmax(np.where(np.isfinite(row), row, np.nan)))
    if v1 is not None:
        cos = boundary_normal_cos(x1, x2, v1, out).ravel()
        on = near & np.isfinite(cos)
        res["orthogonality"] = float(cos[on].mean()) if on.any() else math.nan
        if L_lam2 is not None:
            ratio = np.exp(np.asarray(L_lam2, dtype=float).ravel() - v)
            res["orthogonality_random"] = (
                float(random_readout_cos(ratio[on]).mean()) if on.any() else math.nan
            )
    return res
