"""The adversarial path in detail: λ₁ and the source / target probabilities along the attack,
|cos(v₁(x), Δx)| between the maximal stretching direction and the attack's step against random
directions (the claim of the paper's Fig. S4), and the start and end images."""

from __future__ import annotations

import numpy as np

from .fig4_map import LAM
from .style import save, setup

__all__ = ["plot_adversarial"]


def plot_adversarial(path, align, arrays: dict, pdf, png):
    """``path``: :func:`deepftle.images.fig4.path_table`; ``align``: its alignment table;
    ``arrays``: adversarial.npz (images and attack settings)."""
    import matplotlib.pyplot as plt

    setup()
    src, tgt = int(arrays["source_class"]), int(arrays["target_class"])
    fig = plt.figure(figsize=(10, 3.0))
    ax = fig.add_axes([0.06, 0.16, 0.3, 0.72])
    ax.plot(path["step"], path["lam1"], "k-", lw=1.2, label=LAM)
    ax.set_xlabel("attack step")
    ax.set_ylabel(LAM)
    ax2 = ax.twinx()
    ax2.plot(path["step"], path["p_source"], "-", color="tab:blue", lw=1, label=f"p({src})")
    ax2.plot(path["step"], path["p_target"], "-", color="tab:red", lw=1, label=f"p({tgt})")
    ax2.set_ylabel("probability")
    ax2.set_ylim(-0.02, 1.02)
    flip = np.flatnonzero(path["pred"].to_numpy() != src)
    if flip.size:
        ax.axvline(path["step"].iloc[flip[0]], color="0.5", ls=":", lw=1)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=6, loc="center right", framealpha=0.8)
    eps = float(arrays["eps"])
    ax.set_title(
        f"(a) {arrays['method']} attack {src} → {tgt}: {int(arrays['steps'])} steps "
        f"of {float(arrays['step_size']):g}" + ("" if np.isnan(eps) else f", ε = {eps:g}"),
        fontsize=8,
        loc="left",
    )
    axc = fig.add_axes([0.5, 0.16, 0.3, 0.72])
    cos = align["cos_v1_step"].to_numpy()
    k = max(1, len(cos) // 50)
    smooth = np.convolve(np.nan_to_num(cos), np.ones(k) / k, mode="same")
    axc.plot(
        align["step"],
        cos,
        ".",
        color="0.6",
        ms=1.5,
        rasterized=True,
        label=r"$|\cos(v_1, \Delta x)|$ per step",
    )
    axc.plot(align["step"], smooth, "k-", lw=1.2, label=f"running mean ({k} steps)")
    axc.plot(
        align["step"],
        align["cos_random"],
        "-",
        color="tab:orange",
        lw=1.2,
        label="random directions (mean)",
    )
    axc.set_yscale("log")
    axc.set_xlabel("attack step")
    axc.set_ylabel(r"$|\cos|$")
    axc.legend(fontsize=6, loc="lower right", framealpha=0.8)
    axc.set_title(
        f"(b) v₁ vs attack step: mean {np.nanmean(cos):.3f}, random "
        f"{align['cos_random'].mean():.3f}",
        fontsize=8,
        loc="left",
    )
    images = arrays["images"]
    for row, (img, name) in enumerate(
        ((images[0], f"start (test {int(arrays['start_index'])})"), (images[-1], "end"))
    ):
        axi = fig.add_axes([0.85, 0.53 - 0.45 * row, 0.12, 0.33])
        axi.imshow(img.reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
        axi.set_xticks([])
        axi.set_yticks([])
        axi.set_title(name, fontsize=7)
    fig.text(
        0.91,
        0.0,
        f"L2 {float(arrays['l2']):.2f}, L∞ {float(arrays['linf']):.2f}",
        fontsize=7,
        ha="center",
    )
    save(fig, pdf, png)
