"""Forest plot of one figure's claims: each claim's estimate, its 95 % interval and its margin.

Claims have different units, so each claim gets its own row and its own x-scale: the
acceptance region (the margin) shaded, the interval as a bar, the estimate as a dot coloured by
its status, the published value or baseline as an open diamond. Bookkeeping rows are not drawn
(they are not claims); the title counts them.
"""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pandas as pd

from .style import plt, save, setup

__all__ = ["plot_claims", "margin_region", "STATUS_COLOURS"]

#: colour-blind-safe (Okabe-Ito) colours per status
STATUS_COLOURS = {"holds": "#009E73", "point only": "#E69F00", "fails": "#D55E00"}


def margin_region(margin: str) -> tuple[float, float]:
    """``(lower, upper)`` of a claim's margin text: ``> a``, ``< a``, ``in [a, b]``."""
    text = str(margin).strip()
    if text.startswith("in [") and text.endswith("]"):
        lo, hi = text[4:-1].split(",")
        return float(lo), float(hi)
    for op, region in ((">=", "lower"), ("<=", "upper"), (">", "lower"), ("<", "upper")):
        if text.startswith(op):
            value = float(text[len(op) :])
            return (value, math.inf) if region == "lower" else (-math.inf, value)
    raise ValueError(f"cannot read the margin {margin!r}")


def _limits(row, lo: float, hi: float) -> tuple[float, float]:
    values = [
        v for v in (row.estimate, row.ci_low, row.ci_high, row.baseline, lo, hi) if np.isfinite(v)
    ]
    a, b = min(values), max(values)
    pad = 0.15 * (b - a) if b > a else max(abs(a), 1.0) * 0.1
    return a - pad, b + pad


def plot_claims(table: pd.DataFrame, figure: str, pdf_path, png_path) -> None:
    """Draw the forest plot of ``figure``'s claims (``table``: a claims table) to PDF and PNG."""
    setup()
    rows = table[(table["figure"] == figure) & (table["kind"] != "bookkeeping")]
    n_book = int(((table["figure"] == figure) & (table["kind"] == "bookkeeping")).sum())
    if rows.empty:
        raise ValueError(f"{figure}: no claims to draw")
    n = len(rows)
    fig, axes = plt.subplots(n, 1, figsize=(9.5, 0.62 * n + 0.9), squeeze=False)
    for ax, row in zip(axes[:, 0], rows.itertuples(), strict=True):
        lo, hi = margin_region(row.margin)
        left, right = _limits(row, lo, hi)
        ax.axvspan(max(lo, left), min(hi, right), color="#56B4E9", alpha=0.25, lw=0)
        colour = STATUS_COLOURS[row.status]
        if np.isfinite(row.ci_low) and np.isfinite(row.ci_high):
            ax.plot([row.ci_low, row.ci_high], [0, 0], color=colour, lw=2.5, solid_capstyle="butt")
        if np.isfinite(row.estimate):
            ax.plot([row.estimate], [0], "o", color=colour, ms=6, zorder=3)
        if np.isfinite(row.baseline):
            ax.plot([row.baseline], [0], "D", mfc="none", mec="0.25", ms=6, zorder=3)
        ax.set_xlim(left, right)
        ax.set_ylim(-1, 1)
        ax.set_yticks([])
        ax.tick_params(axis="x", labelsize=6, length=2, pad=1)
        for side in ("left", "right", "top"):
            ax.spines[side].set_visible(False)
        label = textwrap.shorten(str(row.claim), 95, placeholder=" ...")
        ax.text(
            0.0,
            1.02,
            f"{label}  [{row.kind}, n = {row.n}, {row.status}]",
            transform=ax.transAxes,
            fontsize=6.5,
            va="bottom",
        )
    counts = rows["status"].value_counts()
    fig.suptitle(
        f"{figure}: {counts.get('holds', 0)} hold with their 95 % interval, "
        f"{counts.get('point only', 0)} at the point estimate only, "
        f"{counts.get('fails', 0)} fail ({n_book} bookkeeping rows not drawn). "
        "Shaded: margin; bar: 95 % interval; dot: estimate; diamond: published value "
        "or baseline",
        fontsize=7,
        y=1.0,
    )
    fig.tight_layout(h_pad=0.6)
    save(fig, pdf_path, png_path)
