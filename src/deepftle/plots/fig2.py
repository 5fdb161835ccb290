r"""Figure 2: :math:`L\lambda_1^{(L)}(x)` on the input square for widths N (rows) and depths L
(columns), one shared zero-centred colour scale, maximal stretching directions :math:`v_1` as
short black segments, and optionally the network's decision boundary O = 0 (dashed)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import style


def plot_fig2(fields: list[dict], pdf, png, stride: int = 10, boundary: bool = True,
              segment: float = 0.6, ridges: pd.DataFrame | None = None):
    """``fields``: dicts with N, L, x1, x2, lam1, v1, output (one per panel, any order).

    Returns the numbers behind the figure: L*lam1, v1 and O on the subsampled grid of the
    direction segments, one row per point and panel."""
    import matplotlib.pyplot as plt

    style.setup()
    widths = sorted({f["N"] for f in fields})
    depths = sorted({f["L"] for f in fields})
    by = {(f["N"], f["L"]): f for f in fields}
    vals = [f["L"] * f["lam1"] for f in fields]
    norm = style.lambda_norm(np.concatenate([v.ravel() for v in vals]))
    fig, axes = plt.subplots(len(widths), len(depths), figsize=(2.4 * len(depths) + 0.8,
                             2.4 * len(widths) + 0.4), squeeze=False, sharex=True, sharey=True)
    rows, masked_total = [], 0
    im = None
    for i, N in enumerate(widths):
        for j, L in enumerate(depths):
            ax = axes[i, j]
            f = by.get((N, L))
            if f is None:
                ax.set_axis_off()
                continue
            x1, x2 = f["x1"], f["x2"]
            v = L * f["lam1"]
            bad = ~np.isfinite(v)
            masked_total += int(bad.sum())
            im = ax.imshow(np.ma.masked_array(v, bad), origin="lower", cmap=style.LAMBDA_CMAP,
                           norm=norm, extent=(x1[0], x1[-1], x2[0], x2[-1]),
                           interpolation="nearest")
            sl = (slice(stride // 2, None, stride), slice(stride // 2, None, stride))
            X1, X2 = np.meshgrid(x1, x2)
            u = f["v1"][sl]
            ln = segment * stride * (x1[1] - x1[0])
            ax.quiver(X1[sl], X2[sl], u[..., 0], u[..., 1], angles="xy", scale_units="xy",
                      scale=1 / ln, pivot="middle", headwidth=0, headlength=0,
                      headaxislength=0, width=0.006, color="k")
            if boundary and np.nanmin(f["output"]) < 0 < np.nanmax(f["output"]):
                ax.contour(x1, x2, f["output"], levels=[0.0], colors="k", linewidths=0.8,
                           linestyles="--")
            title = f"$N={N}$, $L={L}$"
            if ridges is not None:
                r = ridges[(ridges.N == N) & (ridges.L == L)]
                if len(r):
                    title += f"\ncontrast {r.contrast.mean():.2f}, align. {r.alignment.mean():.2f}"
            ax.set_title(title, fontsize=8)
            if j == 0:
                ax.set_ylabel(r"$x_2^{(0)}$")
            if i == len(widths) - 1 or (widths[i + 1], L) not in by:
                ax.set_xlabel(r"$x_1^{(0)}$")
                ax.xaxis.set_tick_params(labelbottom=True)
            ax.set_aspect("equal")
            rows.append(pd.DataFrame(dict(N=N, L=L, x1=X1[sl].ravel(), x2=X2[sl].ravel(),
                                          L_lam1=v[sl].ravel(), v1_x1=u[..., 0].ravel(),
                                          v1_x2=u[..., 1].ravel(), output=f["output"][sl].ravel())))
    cb = fig.colorbar(im, ax=axes, shrink=0.8, pad=0.02)
    cb.set_label(r"$L\,\lambda_1^{(L)}(\boldsymbol{x})$")
    note = (f"{masked_total} grid points with $\\lambda_1=-\\infty$ (singular $J$) masked"
            if masked_total else "no grid points masked (all $\\lambda_1$ finite)")
    if boundary:
        note += "; dashed: decision boundary $O=0$"
    fig.text(0.45, -0.01 if len(widths) > 1 else -0.04, note, ha="center", va="top",
             fontsize=7)
    style.save(fig, pdf, png)
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
