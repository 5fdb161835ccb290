"""Fig. S3: Fig. 4(b) on harder data sets. One row per data set: test error (%) and H against
λ₁ for the MLP and for the CNN, in Fig. 4(b)'s layout, and the MLP's bottleneck map of the test
images coloured by λ₁ (diverging, white at 0). Each panel states its nets' test accuracies
beside the published state of the art for the set; nets below their accuracy floor get a dashed
orange frame. Plotting only: the tables come from :func:`deepftle.images.analysis.figure_tables`."""

from __future__ import annotations

import numpy as np

from ..pipeline.claims import below_floor
from .fig4 import error_entropy_panel
from .fig4_map import draw_map, lambda_colorbar, map_norm
from .style import FLOOR_COLOUR, frame_below_floor, save, setup

__all__ = ["plot_figS3"]

TITLES = {"mlp": "MLP", "cnn": "CNN"}


def _accuracies(acc: np.ndarray) -> str:
    if len(acc) == 1:
        return f"{100 * acc[0]:.1f} %"
    return f"{100 * acc[0]:.1f} % (ensemble {100 * acc.min():.1f}-{100 * acc.max():.1f} %)"


def plot_figS3(t: dict, pdf, png, *, names: dict, state_of_the_art: dict, min_accuracy: dict):
    """``t``: :func:`deepftle.images.analysis.figure_tables`; ``names``: data-set key -> name;
    ``state_of_the_art``: key -> published test accuracy; ``min_accuracy``: key -> arch ->
    floor."""
    import matplotlib.pyplot as plt

    setup()
    sets = list(dict.fromkeys(k for k, _ in t["panels"]))
    height = 2.7 * len(sets) + 0.3
    fig = plt.figure(figsize=(7.0, height))
    gs = fig.add_gridspec(
        len(sets),
        3,
        width_ratios=[1, 1, 0.8],
        wspace=1.3,
        hspace=0.95,
        left=0.09,
        right=0.92,
        top=1 - 0.75 / height,
        bottom=0.6 / height,
    )
    for row, key in enumerate(sets):
        for col, kind in enumerate(("mlp", "cnn")):
            if (key, kind) not in t["panels"]:
                continue
            p = t["panels"][(key, kind)]
            ax = fig.add_subplot(gs[row, col])
            ax_h = error_entropy_panel(ax, p["bins"], p["ensemble_size"], tag="")
            acc = np.asarray(p["test_accuracy"], dtype=float)
            floor = min_accuracy[key][kind]
            ax.set_title(
                f"{names[key]}: {TITLES[kind]} (L = {p['depth']}), {p['epochs']} "
                f"epoch{'' if p['epochs'] == 1 else 's'}\ntest accuracy "
                f"{_accuracies(acc)}\npublished best {100 * state_of_the_art[key]:.1f} %",
                fontsize=6,
                loc="left",
            )
            if below_floor(acc, floor).any():
                frame_below_floor(ax, ax_h)
                ax.text(
                    0.02,
                    0.97,
                    f"below the {100 * floor:g} % floor",
                    color=FLOOR_COLOUR,
                    transform=ax.transAxes,
                    fontsize=6,
                    va="top",
                )
        if key in t["maps"]:
            m = t["maps"][key]
            ax = fig.add_subplot(gs[row, 2])
            sc, _ = draw_map(ax, m, map_norm(m["lam1"]))
            ax.set_xlabel("$b_1$")
            ax.set_ylabel("$b_2$")
            ax.set_title(
                f"{names[key]}: test images in\nthe MLP's bottleneck map", fontsize=6, loc="left"
            )
            lambda_colorbar(fig, sc, ax=ax)
    n_test = {
        key: t["panels"][(key, "mlp")]["n_test"] for key in sets if (key, "mlp") in t["panels"]
    }
    fig.text(
        0.5,
        0.01,
        "; ".join(f"{names[k]}: {n} test images" for k, n in n_test.items())
        + "; λ₁ from the input to the last hidden layer of net 0, H from the ensemble",
        ha="center",
        va="bottom",
        fontsize=6,
    )
    save(fig, pdf, png)
