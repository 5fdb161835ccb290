"""Drawing a 2-D map of the MNIST training images coloured by λ₁ (Fig. 4a and the openTSNE
figure): the λ norm (diverging, white at 0, asymmetric bounds as in the paper), the scatter,
cluster labels, the box of a class with its zoom, and a path."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import TwoSlopeNorm

from .style import LAMBDA_CMAP

__all__ = [
    "LAM",
    "map_norm",
    "lambda_colorbar",
    "draw_map",
    "cluster_labels",
    "draw_path",
    "box_zoom",
]

LAM = r"$\lambda_1^{(L)}(\mathbf{x})$"
BACKGROUND = "0.93"  # λ₁ ≈ 0 is white in the diverging map


def map_norm(*values, lo_pct: float = 0.5, hi_pct: float = 99.5) -> TwoSlopeNorm:
    """White at λ = 0; blue down to the ``lo_pct`` percentile, red up to ``hi_pct`` (each side
    at least 1e-3 away from 0, so the norm is valid whatever the signs)."""
    v = np.concatenate([np.asarray(x, dtype=float).ravel() for x in values])
    v = v[np.isfinite(v)]
    lo = min(float(np.percentile(v, lo_pct)) if v.size else -1.0, -1e-3)
    hi = max(float(np.percentile(v, hi_pct)) if v.size else 1.0, 1e-3)
    return TwoSlopeNorm(vcenter=0.0, vmin=lo, vmax=hi)


def lambda_colorbar(fig, mappable, **kw):
    """Colourbar linear in λ (white at 0, the longer side in full colour, as in the paper)."""
    cb = fig.colorbar(mappable, extend="both", **kw)
    horizontal = kw.get("orientation") == "horizontal"
    (cb.ax.set_xscale if horizontal else cb.ax.set_yscale)("linear")
    return cb


def draw_map(ax, m, norm, size=None):
    """Scatter of the map table (x, y, lam1) in a fixed random order (neither sign drawn on
    top of the other); returns the scatter and the drawn (x, y, λ) arrays."""
    lam = m["lam1"].to_numpy()
    finite = np.isfinite(lam)
    order = np.random.default_rng(0).permutation(int(finite.sum()))
    xs = m["x"].to_numpy()[finite][order]
    ys = m["y"].to_numpy()[finite][order]
    ls = lam[finite][order]
    size = size or float(np.clip(3e4 / max(len(xs), 1), 0.5, 8.0))
    ax.set_facecolor(BACKGROUND)
    sc = ax.scatter(xs, ys, c=ls, cmap=LAMBDA_CMAP, norm=norm, s=size, lw=0, rasterized=True)
    if (~finite).any():
        ax.text(
            0.01,
            0.01,
            f"{int((~finite).sum())} images with λ₁ = −∞ not shown",
            transform=ax.transAxes,
            fontsize=6,
        )
    return sc, (xs, ys, ls)


def cluster_labels(ax, centres):
    """The digit at each class's centre, pushed outward from the map's centre."""
    centres = np.asarray(centres)
    ok = np.isfinite(centres).all(axis=1)
    mid = np.median(centres[ok], axis=0) if ok.any() else np.zeros(2)
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    span = np.array([x1 - x0, y1 - y0])
    for c, (x, y) in enumerate(centres):
        if not ok[c]:
            continue
        d = (np.array([x, y]) - mid) / span
        n = np.hypot(*d)
        off = 0.045 * d / n * span if n > 0 else np.zeros(2)
        ax.text(
            x + off[0],
            y + off[1],
            str(c),
            fontsize=11,
            fontweight="bold",
            ha="center",
            va="center",
            zorder=9,
            path_effects=_halo(),
        )


def _halo():
    import matplotlib.patheffects as pe

    return [pe.withStroke(linewidth=2.5, foreground="w")]


def draw_path(ax, x, y, lam, norm, *, lw=2.0, ends=True):
    """A continuous curve coloured by λ₁ (black outline), start green, end red."""
    from matplotlib.collections import LineCollection

    pts = np.column_stack([x, y])
    if len(pts) >= 2:
        seg = np.stack([pts[:-1], pts[1:]], axis=1)
        val = 0.5 * (lam[:-1] + lam[1:])
        ax.add_collection(
            LineCollection(seg, colors="k", linewidths=lw + 1.5, zorder=5, capstyle="round")
        )
        lc = LineCollection(
            seg, cmap=LAMBDA_CMAP, norm=norm, linewidths=lw, zorder=6, capstyle="round"
        )
        lc.set_array(np.ma.masked_invalid(val))
        ax.add_collection(lc)
    if ends:
        ax.plot(*pts[0], "o", ms=6, mfc="tab:green", mec="k", zorder=7, label="start")
        ax.plot(*pts[-1], "o", ms=6, mfc="tab:red", mec="k", zorder=7, label="end")


def _free_spot(ax, w, h, pts, avoid):
    """Lower-left corner (axes fraction) of a w x h rectangle inside the axes covering no
    more than 0.3 % of ``pts`` (axes fractions) and none of the ``avoid`` rectangles; or None."""
    best = None
    for left in np.linspace(0.01, 0.99 - w, 12):
        for bottom in np.linspace(0.01, 0.99 - h, 12):
            r, t = left + w, bottom + h
            if any(a0 < r and a1 > left and b0 < t and b1 > bottom for a0, a1, b0, b1 in avoid):
                continue
            n = np.sum(
                (pts[:, 0] >= left) & (pts[:, 0] <= r) & (pts[:, 1] >= bottom) & (pts[:, 1] <= t)
            )
            if best is None or n < best[0]:
                best = (n, left, bottom)
    if best is None or best[0] > 0.003 * len(pts):
        return None
    return best[1], best[2]


def box_zoom(ax, box, drawn, norm, *, blowup: float = 3.0, path=None, max_frac: float = 0.42):
    """The box (black) and its ``blowup``-fold enlargement: inside the axes where it covers
    no data, else outside on the right (as in the paper). Returns the inset axes."""
    from matplotlib.patches import Rectangle

    x0, x1, y0, y1 = box["x0"], box["x1"], box["y0"], box["y1"]
    ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec="k", lw=1.2, zorder=8))
    X0, X1 = ax.get_xlim()
    Y0, Y1 = ax.get_ylim()

    def frac(x, y):
        return np.column_stack([(np.asarray(x) - X0) / (X1 - X0), (np.asarray(y) - Y0) / (Y1 - Y0)])

    w0, h0 = blowup * (x1 - x0) / (X1 - X0), blowup * (y1 - y0) / (Y1 - Y0)
    xs, ys, ls = drawn
    bx = frac([x0, x1], [y0, y1])
    avoid = [(bx[0, 0] - 0.02, bx[1, 0] + 0.02, bx[0, 1] - 0.02, bx[1, 1] + 0.02)]
    pts = frac(xs, ys)
    if path is not None and len(path[0]):
        pp = frac(*path)
        avoid.append((pp[:, 0].min(), pp[:, 0].max(), pp[:, 1].min(), pp[:, 1].max()))
    scale = min(1.0, max_frac / max(w0, h0, 1e-12))
    spot = _free_spot(ax, w0 * scale, h0 * scale, pts, avoid) if scale == 1.0 else None
    if spot is None:  # beside the axes, as in the paper, at the full zoom where it fits
        scale = min(1.0, 0.75 / max(w0, h0, 1e-12))
    w, h = w0 * scale, h0 * scale
    left, bottom = spot if spot is not None else (1.04, 1.0 - h)
    ins = ax.inset_axes([left, bottom, w, h])
    ins.set_facecolor(BACKGROUND)
    inside = (xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)
    ins.scatter(
        xs[inside],
        ys[inside],
        c=ls[inside],
        cmap=LAMBDA_CMAP,
        norm=norm,
        s=6,
        lw=0,
        rasterized=True,
    )
    ins.set_xlim(x0, x1)
    ins.set_ylim(y0, y1)
    ins.set_xticks([])
    ins.set_yticks([])
    for s in ins.spines.values():
        s.set_lw(1.2)
    ins.text(
        0.03,
        0.97,
        f"{blowup * scale:.3g}× zoom",
        transform=ins.transAxes,
        fontsize=7,
        va="top",
        ha="left",
        path_effects=_halo(),
    )
    ax.indicate_inset_zoom(ins, edgecolor="0.5", alpha=0.9)
    return ins
