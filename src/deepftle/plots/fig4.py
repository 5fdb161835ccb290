"""Figure 4: the λ₁ field of MNIST in a 2-D map, test error and entropy vs λ₁, and the same
two panels along the adversarial path. Plotting only: reads arrays, writes figures + TSVs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..analysis import class_box, equal_count_bins
from .style import LAMBDA_CMAP, lambda_norm, save, setup

__all__ = ["make_tables", "plot_fig4", "plot_adversarial"]

LAM = r"$\lambda_1^{(L)}$"
MAP_BACKGROUND = "0.8"


def make_tables(ftle: dict, emb: dict, path: dict, box_class: int = 0,
                box_fraction: float = 0.93, n_bins: int = 20, adversarial_bins: int = 8) -> dict:
    """All numbers behind the figures, as DataFrames."""
    train = ftle["split"] == "train"
    test = ftle["split"] == "test"
    lam_tr = ftle["lam1"][train]
    coords = emb["coords"]
    label_tr = ftle["label"][train]
    correct_tr = ftle["correct"][train]
    map_table = pd.DataFrame(dict(index=ftle["index"][train], x=coords[:, 0], y=coords[:, 1],
                                  label=label_tr, pred=ftle["pred"][train],
                                  correct=correct_tr.astype(int), lam1=lam_tr))
    sel = (label_tr == box_class) & correct_tr
    box = class_box(coords[sel], box_fraction)
    box_table = pd.DataFrame([dict(cls=box_class, target_fraction=box_fraction, **box)])
    bins = equal_count_bins(ftle["lam1"][test], (~ftle["correct"][test]).astype(float),
                            ftle["H"][test], n_bins)
    src, tgt = int(path["source_class"]), int(path["target_class"])
    path_table = pd.DataFrame(dict(step=path["step"], x=path["coords"][:, 0],
                                   y=path["coords"][:, 1], lam1=path["lam1"], pred=path["pred"],
                                   p_source=path["probs"][:, src], p_target=path["probs"][:, tgt],
                                   H=path["H"], error=(path["pred"] != src).astype(int)))
    adv_bins = equal_count_bins(path["lam1"], path_table["error"].to_numpy(float),
                                path["H"], adversarial_bins)
    return dict(map=map_table, box=box_table, bins=bins, path=path_table, adv_bins=adv_bins,
                n_neg_inf_test=int(np.isneginf(ftle["lam1"][test]).sum()))


def _neg_inf_note(ax, n, where="data points"):
    if n:
        ax.text(0.01, 0.01, f"{n} {where} with {LAM} = −∞ not shown", transform=ax.transAxes,
                fontsize=6, va="bottom", ha="left")


def _bins_panel(ax, bins, column, se, ylabel, color="k"):
    ax.errorbar(bins["lam_mean"], bins[column], yerr=bins[se], fmt="o-", ms=3, lw=1,
                capsize=2, color=color)
    ax.set_xlabel(LAM)
    ax.set_ylabel(ylabel)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(5))


def _add_path(ax, path, norm, lw=2.0, label=None):
    from matplotlib.collections import LineCollection

    pts = path[["x", "y"]].to_numpy()
    if len(pts) < 2:
        return
    seg = np.stack([pts[:-1], pts[1:]], axis=1)
    lam = path["lam1"].to_numpy()
    val = np.where(np.isfinite(lam[:-1]) & np.isfinite(lam[1:]), 0.5 * (lam[:-1] + lam[1:]),
                   np.nan)
    ax.add_collection(LineCollection(seg, colors="k", linewidths=lw + 1.6, zorder=4))
    lc = LineCollection(seg, cmap=LAMBDA_CMAP, norm=norm, linewidths=lw, zorder=5)
    lc.set_array(np.ma.masked_invalid(val))
    ax.add_collection(lc)
    ax.plot(*pts[0], "o", ms=5, mfc="w", mec="k", zorder=6)
    if label:
        ax.annotate(label, pts[0], xytext=(8, 8), textcoords="offset points", fontsize=7,
                    zorder=8, bbox=dict(boxstyle="round,pad=0.2", fc="w", ec="0.5", alpha=0.85))
    ax.plot(*pts[-1], "*", ms=8, mfc="w", mec="k", zorder=6)


def plot_fig4(tables: dict, pdf, png, blowup: float = 3.0, box_class: int = 0):
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    setup()
    m, box, bins, path = tables["map"], tables["box"].iloc[0], tables["bins"], tables["path"]
    lam = m["lam1"].to_numpy()
    finite = np.isfinite(lam)
    # bounded by the 99.5th percentile of |λ₁| (colourbar extended at both ends)
    norm = lambda_norm(np.concatenate([lam[finite], path["lam1"].to_numpy()]), percentile=99.5)
    fig = plt.figure(figsize=(10, 4.6))
    gs = fig.add_gridspec(2, 2, width_ratios=[1.45, 1], hspace=0.45, wspace=0.28)
    ax = fig.add_subplot(gs[:, 0])
    ax.set_facecolor(MAP_BACKGROUND)  # points with λ₁ ≈ 0 are white in the diverging map
    order = np.argsort(lam[finite])  # largest λ drawn last
    xs, ys, ls = m["x"].to_numpy()[finite][order], m["y"].to_numpy()[finite][order], lam[finite][order]
    size = float(np.clip(3e4 / max(len(xs), 1), 0.4, 8.0))  # ~0.5 for 60000 points
    sc = ax.scatter(xs, ys, c=ls, cmap=LAMBDA_CMAP, norm=norm, s=size, lw=0, rasterized=True)
    fig.colorbar(sc, ax=ax, label=LAM, shrink=0.85, pad=0.02, extend="both")
    _neg_inf_note(ax, int((~finite).sum()), "training inputs")
    span = float(np.hypot(np.ptp(path["x"]), np.ptp(path["y"])))
    _add_path(ax, path, norm, label=f"adversarial path 9 → 4 ({len(path)} images,\n"
              f"map extent {span:.2g}; ○ start, ☆ end)")
    x0, x1, y0, y1 = box["x0"], box["x1"], box["y0"], box["y1"]
    ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec="k", lw=1, zorder=7))
    ax.set_xlabel("map coordinate 1")
    ax.set_ylabel("map coordinate 2")
    ax.set_title(f"(a) training inputs; box: {box['fraction']:.0%} of recognised {box_class}s",
                 fontsize=9, loc="left")
    ax.set_aspect("equal", adjustable="datalim")
    ax.autoscale_view()
    # threefold blow-up of the box, in the corner farthest from it
    fig.canvas.draw()
    X0, X1 = ax.get_xlim()
    Y0, Y1 = ax.get_ylim()
    w = blowup * (x1 - x0) / (X1 - X0)
    h = blowup * (y1 - y0) / (Y1 - Y0)
    scale = min(1.0, 0.42 / max(w, h, 1e-12))
    w, h = w * scale, h * scale
    # the corner whose inset hides the fewest points, never the box or the adversarial path
    px = (path["x"].to_numpy() - X0) / (X1 - X0)
    py = (path["y"].to_numpy() - Y0) / (Y1 - Y0)
    ux, uy = (xs - X0) / (X1 - X0), (ys - Y0) / (Y1 - Y0)
    bx = ((x0 - X0) / (X1 - X0), (x1 - X0) / (X1 - X0))
    by = ((y0 - Y0) / (Y1 - Y0), (y1 - Y0) / (Y1 - Y0))
    best = None
    for left, bottom in ((0.01, 0.01), (0.99 - w, 0.01), (0.01, 0.99 - h), (0.99 - w, 0.99 - h)):
        r, t = left + w, bottom + h
        cost = np.sum((ux >= left) & (ux <= r) & (uy >= bottom) & (uy <= t))
        cost += 10 ** 9 * np.sum((px >= left) & (px <= r) & (py >= bottom) & (py <= t))
        cost += 10 ** 9 * (bx[0] < r and bx[1] > left and by[0] < t and by[1] > bottom)
        if best is None or cost < best[0]:
            best = (cost, left, bottom)
    _, left, bottom = best
    ins = ax.inset_axes([left, bottom, w, h])
    ins.set_facecolor(MAP_BACKGROUND)
    inside = (xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)
    ins.scatter(xs[inside], ys[inside], c=ls[inside], cmap=LAMBDA_CMAP, norm=norm,
                s=min(4 * size, 12.0), lw=0, rasterized=True)
    _add_path(ins, path, norm, lw=1.5)
    ins.set_xlim(x0, x1)
    ins.set_ylim(y0, y1)
    ins.set_xticks([])
    ins.set_yticks([])
    for s in ins.spines.values():
        s.set_lw(1)
    ins.text(0.03, 0.97, f"{blowup * scale:.3g}× box", transform=ins.transAxes, fontsize=7,
             va="top", ha="left")
    ax.indicate_inset_zoom(ins, edgecolor="0.3", alpha=0.8)
    axb = fig.add_subplot(gs[0, 1])
    _bins_panel(axb, bins, "error", "error_se", "test classification error")
    axb.set_title(f"(b) test set, {len(bins)} equal-count bins", fontsize=9, loc="left")
    axc = fig.add_subplot(gs[1, 1])
    _bins_panel(axc, bins, "H_mean", "H_se", r"predictive uncertainty $H$")
    axc.set_title("(c)", fontsize=9, loc="left")
    if tables["n_neg_inf_test"]:
        _neg_inf_note(axb, tables["n_neg_inf_test"], "test inputs")
    save(fig, pdf, png)


def plot_adversarial(tables: dict, pdf, png, source: int, target: int):
    import matplotlib.pyplot as plt

    setup()
    path, bins = tables["path"], tables["adv_bins"]
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.0), constrained_layout=True)
    ax = axes[0]
    ax.plot(path["step"], path["lam1"], "k-", lw=1.2, label=LAM)
    ax.set_xlabel("attack step")
    ax.set_ylabel(LAM)
    ax2 = ax.twinx()
    ax2.plot(path["step"], path["p_source"], "-", color="C0", lw=1, label=f"p({source})")
    ax2.plot(path["step"], path["p_target"], "-", color="C3", lw=1, label=f"p({target})")
    ax2.set_ylabel("probability")
    ax2.set_ylim(-0.02, 1.02)
    flip = np.flatnonzero(path["pred"].to_numpy() != source)
    if flip.size:
        ax.axvline(path["step"].iloc[flip[0]], color="0.5", ls=":", lw=1)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=6, loc="center right", framealpha=0.8)
    ax.set_title(f"(d) attack {source} → {target}", fontsize=9, loc="left")
    _neg_inf_note(ax, int(np.isneginf(path["lam1"]).sum()), "path images")
    _bins_panel(axes[1], bins, "error", "error_se", f"error (prediction ≠ {source})")
    axes[1].set_title(f"(e) path images, {len(bins)} bins", fontsize=9, loc="left")
    _bins_panel(axes[2], bins, "H_mean", "H_se", r"predictive uncertainty $H$")
    axes[2].set_title("(f)", fontsize=9, loc="left")
    save(fig, pdf, png)
