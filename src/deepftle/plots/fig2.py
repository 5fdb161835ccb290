r"""Figure 2: :math:`L\lambda_1^{(L)}(x)` on the input square for widths N (rows) and depths L
(columns) on one fixed colour scale :math:`[-v_{max}, v_{max}]` (diverging, 0 white; values
outside saturate and are counted under the figure), maximal stretching directions :math:`v_1`
as short black segments, optionally the network's decision boundary O = 0 (dashed). A net
below the figure's accuracy floor gets a hatched frame and its test accuracy in the panel."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.colors import Normalize

from . import style


def saturated_count(values: np.ndarray, vmax: float) -> int:
    """Finite values outside [-vmax, vmax] (drawn in the end colours of the scale)."""
    v = np.asarray(values, dtype=float)
    return int((np.isfinite(v) & (np.abs(v) > vmax)).sum())


def plot_fig2(
    fields: list[dict],
    pdf,
    png,
    *,
    vmax: float = 4.0,
    stride: int = 20,
    boundary: bool = False,
    segment: float = 0.6,
    below_floor: dict | None = None,
    min_accuracy: float | None = None,
):
    """``fields``: dicts with N, L, x1, x2, lam1, v1, output (one per panel, any order);
    ``below_floor``: {(N, L): test accuracy} of the nets under the accuracy floor.

    Returns the numbers behind the figure: L*lam1, v1 and O on the subsampled grid of the
    direction segments, one row per point and panel."""
    import matplotlib.pyplot as plt

    if not vmax > 0:
        raise ValueError(f"vmax must be > 0, got {vmax!r}")
    style.setup()
    below_floor = below_floor or {}
    widths = sorted({f["N"] for f in fields})
    depths = sorted({f["L"] for f in fields})
    by = {(f["N"], f["L"]): f for f in fields}
    norm = Normalize(vmin=-vmax, vmax=vmax, clip=True)
    panel, top_in, bottom_in = 1.55, 0.85, 0.35  # inches: panel side, room above and below
    height = panel * len(widths) + top_in + bottom_in
    fig, axes = plt.subplots(
        len(widths), len(depths), figsize=(panel * len(depths) + 0.5, height), squeeze=False
    )
    rows, masked_total, saturated = [], 0, 0
    im = None
    for i, N in enumerate(widths):
        for j, L in enumerate(depths):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(f"L = {L}", fontsize=9)
            if j == 0:
                ax.set_ylabel(f"N = {N}", fontsize=9)
            f = by.get((N, L))
            if f is None:
                ax.text(0.5, 0.5, "not run", ha="center", va="center", transform=ax.transAxes)
                continue
            x1, x2 = f["x1"], f["x2"]
            v = L * f["lam1"]
            bad = ~np.isfinite(v)
            masked_total += int(bad.sum())
            saturated += saturated_count(v, vmax)
            im = ax.imshow(
                np.ma.masked_array(v, bad),
                origin="lower",
                cmap=style.LAMBDA_CMAP,
                norm=norm,
                extent=(x1[0], x1[-1], x2[0], x2[-1]),
                interpolation="nearest",
            )
            sl = (slice(stride // 2, None, stride), slice(stride // 2, None, stride))
            X1, X2 = np.meshgrid(x1, x2)
            u = f["v1"][sl]
            ln = segment * stride * (x1[1] - x1[0])
            ax.quiver(
                X1[sl],
                X2[sl],
                u[..., 0],
                u[..., 1],
                angles="xy",
                scale_units="xy",
                scale=1 / ln,
                pivot="middle",
                headwidth=0,
                headlength=0,
                headaxislength=0,
                width=0.008,
                color="k",
            )
            if boundary and np.nanmin(f["output"]) < 0 < np.nanmax(f["output"]):
                ax.contour(
                    x1,
                    x2,
                    f["output"],
                    levels=[0.0],
                    colors="0.35",
                    linewidths=0.7,
                    linestyles="--",
                )
            if (N, L) in below_floor:
                for side in ax.spines.values():
                    side.set(color="#D55E00", linewidth=2.0, linestyle="--")
                ax.text(
                    0.5,
                    0.03,
                    f"{100 * below_floor[(N, L)]:.2f} % acc.",
                    ha="center",
                    va="bottom",
                    fontsize=6,
                    transform=ax.transAxes,
                    bbox=dict(fc="white", ec="#D55E00", lw=0.6, pad=1.0),
                )
            ax.set_xlim(x1[0], x1[-1])
            ax.set_ylim(x2[0], x2[-1])
            ax.set_aspect("equal")
            rows.append(
                pd.DataFrame(
                    dict(
                        N=N,
                        L=L,
                        x1=X1[sl].ravel(),
                        x2=X2[sl].ravel(),
                        L_lam1=v[sl].ravel(),
                        v1_x1=u[..., 0].ravel(),
                        v1_x2=u[..., 1].ravel(),
                        output=f["output"][sl].ravel(),
                        below_floor=(N, L) in below_floor,
                    )
                )
            )
    fig.subplots_adjust(
        left=0.08,
        right=0.98,
        top=1 - top_in / height,
        bottom=bottom_in / height,
        wspace=0.08,
        hspace=0.08,
    )
    cax = fig.add_axes([0.14, 1 - 0.3 / height, 0.72, 0.09 / height])
    cb = fig.colorbar(im, cax=cax, orientation="horizontal")
    cb.ax.xaxis.set_ticks_position("bottom")
    fig.text(0.87, 1 - 0.255 / height, r"$L\lambda_1^{(L)}(\mathbf{x})$", fontsize=9, va="center")
    notes = [
        f"{saturated} grid values outside $\\pm{vmax:g}$ (saturated)"
        if saturated
        else f"all values within $\\pm{vmax:g}$"
    ]
    if masked_total:
        notes.append(f"{masked_total} grid points with $\\lambda_1=-\\infty$ (singular $J$) masked")
    if boundary:
        notes.append("dashed: decision boundary $O=0$")
    if below_floor:
        notes.append(
            f"dashed orange frame: net below {100 * (min_accuracy or 0):g} % test accuracy"
        )
    fig.text(0.53, (bottom_in - 0.1) / height, "; ".join(notes), ha="center", va="top", fontsize=6)
    style.save(fig, pdf, png)
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
