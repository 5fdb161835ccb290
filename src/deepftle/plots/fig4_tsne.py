"""The openTSNE map of the training images, coloured and boxed as Fig. 4(a), with the positions
openTSNE ``transform`` gives the attack path's images (each placed on its own against the
fixed map, so the points need not form a curve)."""

from __future__ import annotations

from .fig4_map import LAM, box_zoom, cluster_labels, draw_map, lambda_colorbar, map_norm
from .style import LAMBDA_CMAP, save, setup

__all__ = ["plot_tsne"]

WHAT = {"pixels": "raw pixels (784)", "hidden": r"last hidden layer $x^{(L)}$ of the main net"}


def plot_tsne(t: dict, pdf, png, blowup: float = 3.0, box_class: int = 0):
    import matplotlib.pyplot as plt

    setup()
    m, box, path = t["map"], t["box"].iloc[0], t["path"]
    norm = map_norm(m["lam1"], path["lam1"])
    fig, ax = plt.subplots(figsize=(7.0, 7.0))
    sc, drawn = draw_map(ax, m, norm)
    ax.autoscale_view()
    import numpy as np

    span = float(np.hypot(np.ptp(path["x"]), np.ptp(path["y"])))
    ax.plot(path["x"], path["y"], "-", color="0.3", lw=0.5, zorder=5)
    ax.scatter(
        path["x"],
        path["y"],
        c=path["lam1"],
        cmap=LAMBDA_CMAP,
        norm=norm,
        s=14,
        edgecolors="k",
        linewidths=0.4,
        zorder=6,
        label=f"the {len(path)} attack path images placed by openTSNE transform\n(one "
        f"by one, not a continuous map; spread {span:.3g} map units)",
    )
    ax.plot(
        path["x"].iloc[0],
        path["y"].iloc[0],
        "o",
        ms=7,
        mfc="tab:green",
        mec="k",
        zorder=7,
        label="start",
    )
    ax.plot(
        path["x"].iloc[-1],
        path["y"].iloc[-1],
        "o",
        ms=7,
        mfc="tab:red",
        mec="k",
        zorder=7,
        label="end",
    )
    cluster_labels(ax, t["centres"])
    box_zoom(
        ax,
        box,
        drawn,
        norm,
        blowup=blowup,
        path=(path["x"].to_numpy(), path["y"].to_numpy()),
        max_frac=0.3,
    )
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.08), ncol=3, fontsize=6, frameon=False)
    lambda_colorbar(fig, sc, ax=ax, label=LAM, shrink=0.8, pad=0.1, orientation="horizontal")
    ax.set_xlabel("t-SNE 1")
    ax.set_ylabel("t-SNE 2")
    ax.set_title(
        "openTSNE map of the training images, embedded: "
        f"{WHAT.get(t['embed'], t['embed'])}"
        f"\nbox: {box['fraction']:.0%} of the recognised {box_class}s",
        fontsize=8,
    )
    save(fig, pdf, png)
