"""Shared figure style: the λ colour map (colour-blind-safe, diverging, centred at 0) and saving."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ..pipeline.files import atomic_path  # noqa: E402

#: diverging, colour-blind-safe map for λ (blue < 0 < red)
LAMBDA_CMAP = "RdBu_r"


#: the colour of a net below its accuracy floor (a dashed frame and a note)
FLOOR_COLOUR = "tab:orange"


def frame_below_floor(*axes) -> None:
    """Dashed orange frame on every spine of ``axes``: the panel's nets are below their
    accuracy floor."""
    for ax in axes:
        for spine in ax.spines.values():
            spine.set(color=FLOOR_COLOUR, linestyle="--", linewidth=1.5)


def floor_caption(below, min_accuracy: float) -> str:
    """``"k of n nets below the x % accuracy floor"``."""
    return (
        f"{int(sum(below))} of {len(below)} nets below the {100 * min_accuracy:g} % accuracy floor"
    )


def setup() -> None:
    """Paper-like defaults: serif-free small fonts, tight layout."""
    import seaborn as sns

    sns.set_theme(context="paper", style="ticks", font_scale=1.0)
    plt.rcParams.update({"figure.dpi": 150, "savefig.dpi": 200, "pdf.fonttype": 42})


def save(fig, pdf_path: str | Path, png_path: str | Path) -> None:
    """Write the figure as PDF and PNG atomically, then close it."""
    for path, fmt in ((pdf_path, "pdf"), (png_path, "png")):
        with atomic_path(path) as tmp:
            fig.savefig(
                tmp,
                format=fmt,
                bbox_inches="tight",
                metadata={"CreationDate": None} if fmt == "pdf" else None,
            )
    plt.close(fig)
