"""The figure of one image analysis (results/analyses/<name>/figure): (a) test error (%) and
predictive uncertainty H against λ₁ in equal-width bins, Fig. 4(b)'s layout; (b) the openTSNE
map of the analysed test inputs coloured by λ₁ (diverging, white at 0), misclassified inputs
ringed. Nets below the accuracy floor get a dashed orange frame and a note. Plotting only: the
tables come from :func:`deepftle.images.analysis.analysis_bins` and
:func:`deepftle.images.analysis.embed_analysis`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..pipeline.claims import below_floor
from .fig4 import error_entropy_panel
from .fig4_map import draw_map, lambda_colorbar, map_norm
from .style import FLOOR_COLOUR, floor_caption, frame_below_floor, save, setup

__all__ = ["plot_analysis"]


def plot_analysis(t: dict, emb: dict, pdf, png, *, title: str, min_accuracy: float | None):
    """``t``: :func:`deepftle.images.analysis.analysis_bins`; ``emb``: the map (coords, lam1,
    correct); ``min_accuracy``: the nets' floor (None: no floor)."""
    import matplotlib.pyplot as plt

    setup()
    fig = plt.figure(figsize=(7.0, 3.3))
    gs = fig.add_gridspec(
        1, 2, width_ratios=[1.25, 1], wspace=0.55, left=0.09, right=0.9, top=0.8, bottom=0.2
    )
    ax = fig.add_subplot(gs[0, 0])
    ax_h = error_entropy_panel(ax, t["bins"], t["ensemble_size"], tag="")
    ax.set_title("(a) test error and H against λ₁", fontsize=8, loc="left")
    acc = np.asarray(t["test_accuracy"], dtype=float)
    accs = (
        f"test accuracy {100 * acc[0]:.2f} %"
        if len(acc) == 1
        else f"test accuracy {100 * acc[0]:.2f} % ({len(acc)} nets: {100 * acc.min():.2f}-"
        f"{100 * acc.max():.2f} %)"
    )
    fig.suptitle(f"{title}\n{accs}", fontsize=8, x=0.09, ha="left")
    notes = [
        f"{t['n_test']} test inputs in {t['n_bins']} equal-width bins of λ₁ "
        f"({len(t['bins'])} with ≥ 5 inputs drawn)"
    ]
    if t["n_neg_inf"]:
        notes.append(f"{t['n_neg_inf']} with λ₁ = −∞ not shown")

    m = pd.DataFrame(
        dict(
            x=np.asarray(emb["coords"])[:, 0],
            y=np.asarray(emb["coords"])[:, 1],
            lam1=np.asarray(emb["lam1"], dtype=float),
        )
    )
    ax_map = fig.add_subplot(gs[0, 1])
    sc, _ = draw_map(ax_map, m, map_norm(m["lam1"]))
    wrong = ~np.asarray(emb["correct"], dtype=bool)
    if wrong.any():
        ax_map.scatter(
            m["x"][wrong],
            m["y"][wrong],
            s=9,
            facecolors="none",
            edgecolors="k",
            linewidths=0.4,
            label=f"misclassified ({int(wrong.sum())})",
        )
        ax_map.legend(loc="upper right", fontsize=6, frameon=False, handletextpad=0.2)
    ax_map.set_xticks([])
    ax_map.set_yticks([])
    ax_map.set_title("(b) openTSNE map of the test inputs", fontsize=8, loc="left")
    lambda_colorbar(fig, sc, ax=ax_map, label="λ₁", fraction=0.05, pad=0.03)

    if min_accuracy is not None:
        below = below_floor(acc, min_accuracy)
        if below.any():
            frame_below_floor(ax, ax_h)
            notes.append(floor_caption(below, min_accuracy))
            fig.text(
                0.09,
                0.83,
                f"below the accuracy floor ({100 * min_accuracy:g} % test accuracy)",
                color=FLOOR_COLOUR,
                fontsize=8,
                ha="left",
                va="bottom",
            )
    fig.text(0.5, 0.02, "; ".join(notes), ha="center", va="bottom", fontsize=7)
    save(fig, pdf, png)
