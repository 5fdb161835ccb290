"""Fig. S2: Fig. 4(b)'s layout for another architecture: test error (%) and predictive
uncertainty H against λ₁⁽ᴸ⁾(x) in equal-width bins, two y axes, titled with the architecture.
Nets below the accuracy floor get a dashed orange frame and a note. Plotting only: the table
comes from :func:`deepftle.images.analysis.analysis_bins`."""

from __future__ import annotations

import numpy as np

from ..pipeline.claims import below_floor
from .fig4 import error_entropy_panel
from .style import FLOOR_COLOUR, floor_caption, frame_below_floor, save, setup

__all__ = ["plot_figS2"]


def plot_figS2(t: dict, pdf, png, min_accuracy: float):
    import matplotlib.pyplot as plt

    setup()
    fig, ax = plt.subplots(figsize=(7.0, 2.2))
    fig.subplots_adjust(left=0.12, right=0.88, top=0.8, bottom=0.24)
    ax_h = error_entropy_panel(ax, t["bins"], t["ensemble_size"], tag="")
    acc = np.asarray(t["test_accuracy"], dtype=float)
    below = below_floor(acc, min_accuracy)
    accs = (
        f"test accuracy {100 * acc[0]:.2f} %"
        if len(acc) == 1
        else f"test accuracy {100 * acc[0]:.2f} % (ensemble {100 * acc.min():.2f}-"
        f"{100 * acc.max():.2f} %)"
    )
    epochs = f"{t['epochs']} epoch{'' if t['epochs'] == 1 else 's'}"
    ax.set_title(f"{t['arch']}, {epochs}; {accs}", fontsize=8, loc="left")
    notes = [
        f"{t['n_test']} MNIST test images in {t['n_bins']} equal-width bins of λ₁ "
        f"({len(t['bins'])} with ≥ 5 images drawn)"
    ]
    if t["n_neg_inf"]:
        notes.append(f"{t['n_neg_inf']} with λ₁ = −∞ not shown")
    if below.any():
        frame_below_floor(ax, ax_h)
        notes.append(floor_caption(below, min_accuracy))
        ax.text(
            0.0,
            1.13,
            f"below the accuracy floor ({100 * min_accuracy:g} % test accuracy)",
            transform=ax.transAxes,
            ha="left",
            va="bottom",
            color=FLOOR_COLOUR,
            fontsize=9,
        )
    fig.text(0.5, -0.02, "; ".join(notes), ha="center", va="top", fontsize=7)
    save(fig, pdf, png)
