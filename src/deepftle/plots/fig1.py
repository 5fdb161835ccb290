r"""Figure 1: (a) layout of the network (2 inputs, L hidden layers of N, one output);
(b) the circle data set with its decision boundary :math:`|x| = r_0`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import style


def _layout(ax, width: int, n_drawn: int) -> None:
    """Nodes and all-to-all edges; hidden layers 1..n_drawn-1 and L, dots in between."""
    import matplotlib.pyplot as plt

    cols = [("in", 2)] + [(f"h{i}", width) for i in range(n_drawn)] + [("out", 1)]
    xs = np.arange(len(cols), dtype=float)
    xs[-2:] += 0.6  # room for the ellipsis before layer L
    ys = [np.linspace(-(n - 1) / 2, (n - 1) / 2, n) * 0.8 for _, n in cols]
    for k in range(len(cols) - 1):
        if k == len(cols) - 3:  # between the last drawn early layer and layer L: ellipsis
            ax.text((xs[k] + xs[k + 1]) / 2, 0, r"$\cdots$", ha="center", va="center", fontsize=16)
            continue
        for y0 in ys[k]:
            for y1 in ys[k + 1]:
                ax.plot([xs[k], xs[k + 1]], [y0, y1], color="0.6", lw=0.5, zorder=1)
    for k, (name, n) in enumerate(cols):
        face = {"in": "white", "out": "0.2"}.get(name, "tab:blue")
        ax.scatter(np.full(n, xs[k]), ys[k], s=160, c=face, edgecolors="k", zorder=2)
    ax.text(xs[0] - 0.35, ys[0][1], r"$x_1^{(0)}$", ha="right", va="center")
    ax.text(xs[0] - 0.35, ys[0][0], r"$x_2^{(0)}$", ha="right", va="center")
    ax.text(xs[-1] + 0.3, 0, r"$x^{(L+1)}$", ha="left", va="center")
    top = max(y.max() for y in ys) + 0.55
    labels = [r"$\ell=%d$" % (i + 1) for i in range(n_drawn - 1)] + [r"$\ell=L$"]
    for k, lab in enumerate(labels, start=1):
        ax.text(xs[k], top, lab, ha="center", va="bottom", fontsize=8)
    ax.text(
        np.mean(xs[1:-1]),
        -top - 0.2,
        f"$L$ hidden layers of $N={width}$ neurons",
        ha="center",
        va="top",
        fontsize=8,
    )
    ax.set_xlim(xs[0] - 1.2, xs[-1] + 1.2)
    ax.set_ylim(-top - 0.8, top + 0.6)
    ax.set_aspect("equal")
    ax.axis("off")
    plt.setp(ax, title="(a)")


def plot_fig1(
    x: np.ndarray,
    t: np.ndarray,
    r0: float,
    pdf,
    png,
    *,
    n_points: int = 600,
    width: int = 5,
    layers_drawn: int = 3,
):
    """Draw Figure 1 from the training inputs ``x`` (P, 2) and targets ``t`` (P,).
    Returns the plotted points as a DataFrame (the numbers behind panel b)."""
    import matplotlib.pyplot as plt

    style.setup()
    x, t = np.asarray(x)[:n_points], np.asarray(t)[:n_points]
    fig, (ax_a, ax_b) = plt.subplots(
        1, 2, figsize=(8.0, 3.6), gridspec_kw=dict(width_ratios=[1.3, 1], wspace=0.35)
    )
    _layout(ax_a, width, layers_drawn)
    pos, neg = t > 0, t < 0
    ax_b.scatter(*x[pos].T, marker="s", s=9, c="k", lw=0, label=r"$t=+1$")
    ax_b.scatter(
        *x[neg].T,
        marker="s",
        s=9,
        facecolors="none",
        edgecolors="tab:green",
        lw=0.7,
        label=r"$t=-1$",
    )
    phi = np.linspace(0, 2 * np.pi, 400)
    ax_b.plot(
        r0 * np.cos(phi),
        r0 * np.sin(phi),
        "r--",
        lw=1.2,
        label=rf"decision boundary $|x|=r_0={r0:.3f}$",
    )
    ax_b.set(
        xlim=(-1, 1),
        ylim=(-1, 1),
        xlabel=r"$x_1^{(0)}$",
        ylabel=r"$x_2^{(0)}$",
        aspect="equal",
        title=f"(b) circle data ({len(x)} of the training inputs)",
    )
    ax_b.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, fontsize=7, frameon=False)
    style.save(fig, pdf, png)
    return pd.DataFrame(dict(x1=x[:, 0], x2=x[:, 1], t=t))
