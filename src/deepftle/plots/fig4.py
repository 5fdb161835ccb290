"""Figure 4 in the published layout: (a) the training images in the bottleneck map (local
fields b₁, b₂) coloured by λ₁, cluster labels, the box of recognised 0s with its zoom and the
adversarial path; (b) test error (%) and H vs λ₁ on two y axes; (c), (d) mean and standard
deviation of λ₁ vs the width N. Plotting only: the tables come from
:func:`deepftle.images.fig4.fig4_tables`."""

from __future__ import annotations

from .fig4_map import LAM, box_zoom, cluster_labels, draw_map, draw_path, lambda_colorbar, map_norm
from .style import save, setup

__all__ = ["plot_fig4", "error_entropy_panel"]

H_COLOUR = "tab:green"


def error_entropy_panel(ax, bins, ensemble_size, tag="(b)"):
    """Panel (b): test error (%, black, left axis) and H (green, right axis) against the λ₁
    bins of :func:`deepftle.images.statistics.equal_width_bins`. Returns the H axis."""
    ax.plot(bins["lam_mean"], 100 * bins["error"], "k-", lw=1.2)
    ax.set_ylabel("Test error (%)")
    ax.set_xlabel(LAM)
    ax2 = ax.twinx()
    ax2.plot(bins["lam_mean"], bins["H_mean"], "-", color=H_COLOUR, lw=1.2)
    ax2.set_ylabel(
        f"H ({ensemble_size} nets)" if ensemble_size > 1 else "H (1 net)", color=H_COLOUR
    )
    ax2.tick_params(axis="y", colors=H_COLOUR)
    ax2.spines["right"].set_color(H_COLOUR)
    ax.text(0.02, 0.9, tag, transform=ax.transAxes, fontsize=12, va="top")
    return ax2


def _panel_width(ax, width, column, ylabel, tag):
    """Trained nets: the mean over realisations, bars from the lowest to the highest; at
    initialisation (where the table has it): grey, dashed; nets below the accuracy floor
    circled in orange."""
    for col, style, label in (
        (column, dict(color="k", ls="-"), "trained"),
        (f"{column}_init", dict(color="0.55", ls="--"), "initialisation"),
    ):
        if col not in width:
            continue
        g = width.groupby("N")[col]
        mean, lo, hi = g.mean(), g.min(), g.max()
        ax.errorbar(
            mean.index,
            mean.values,
            yerr=[mean - lo, hi - mean],
            marker=".",
            ms=5,
            lw=1.2,
            capsize=2,
            label=label,
            **style,
        )
    if "below_floor" in width and width["below_floor"].astype(bool).any():
        bad = width[width["below_floor"].astype(bool)]
        ax.plot(
            bad["N"],
            bad[column],
            "o",
            mfc="none",
            mec="#D55E00",
            ms=6,
            label="below the accuracy floor",
        )
    if f"{column}_init" in width:
        ax.legend(fontsize=6, frameon=False, loc="best")
    ax.set_xscale("log")
    from matplotlib.ticker import NullFormatter

    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("N")
    ax.set_ylabel(ylabel)
    ax.text(0.04 if tag == "(c)" else 0.84, 0.9, tag, transform=ax.transAxes, fontsize=12, va="top")


def plot_fig4(
    t: dict,
    pdf,
    png,
    *,
    blowup: float = 3.0,
    box_class: int = 0,
    sweep_protocol: str | None = None,
    main_protocol: str | None = None,
):
    import matplotlib.pyplot as plt

    setup()
    m, box, path, bins, width = t["map"], t["box"].iloc[0], t["path"], t["bins"], t["width"]
    norm = map_norm(m["lam1"], path["lam1"])
    fig = plt.figure(figsize=(7.0, 9.2))
    gs = fig.add_gridspec(
        4,
        2,
        height_ratios=[0.07, 1.0, 0.3, 0.28],
        hspace=0.42,
        wspace=0.35,
        left=0.12,
        right=0.8,
        top=0.95,
        bottom=0.06,
    )
    ax = fig.add_subplot(gs[1, :])
    sc, drawn = draw_map(ax, m, norm)
    xy = path[["x", "y"]].to_numpy()
    ax.update_datalim(xy)
    ax.autoscale_view()
    draw_path(ax, xy[:, 0], xy[:, 1], path["lam1"].to_numpy(), norm)
    cluster_labels(ax, t["centres"])
    ax.set_xlabel(r"$b_1$ (bottleneck local field)")
    ax.set_ylabel(r"$b_2$")
    ax.text(0.02, 0.97, "(a)", transform=ax.transAxes, fontsize=12, va="top")
    src = int(round(path["pred"].iloc[0]))
    tgt = int(round(path["pred"].iloc[-1]))
    ax.legend(
        handles=ax.lines[-2:],
        labels=[f"attack start ({src})", f"end ({tgt}, p = {path['p_target'].iloc[-1]:.2f})"],
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        ncol=2,
        fontsize=7,
        frameon=False,
    )
    box_zoom(ax, box, drawn, norm, blowup=blowup, path=(xy[:, 0], xy[:, 1]), max_frac=0.45)
    ax.set_title(
        f"box: {box['fraction']:.0%} of the recognised {box_class}s", fontsize=8, loc="right"
    )
    cax = fig.add_subplot(gs[0, :])
    lambda_colorbar(fig, sc, cax=cax, orientation="horizontal")
    cax.set_title(LAM, fontsize=10, loc="right")
    error_entropy_panel(fig.add_subplot(gs[2, :]), bins, t["ensemble_size"])
    _panel_width(
        fig.add_subplot(gs[3, 0]),
        width,
        "mean_lam1",
        r"$\langle\lambda_1^{(L)}(\mathbf{x})\rangle$",
        "(c)",
    )
    _panel_width(
        fig.add_subplot(gs[3, 1]), width, "std_lam1", r"Std$[\lambda_1^{(L)}(\mathbf{x})]$", "(d)"
    )
    n_real = int(width.groupby("N").size().min()) if "realisation" in width else 1
    fig.text(
        0.45,
        0.005,
        f"(c), (d): L = 16 nets of width N, {n_real} realisation(s) per N "
        "(bars: their range), test set"
        f"{'' if sweep_protocol is None else f' ({sweep_protocol})'}; main net N = 20"
        f"{'' if main_protocol is None else f' ({main_protocol})'}",
        ha="center",
        fontsize=7,
    )
    if t.get("detour") is not None and t["detour"][0] > t["detour"][1]:
        ax.text(
            0.98,
            0.02,
            f"the attack path drawn spends {t['detour'][0]:.0%} of its steps in "
            f"a third class:\nno start tried stayed within {t['detour'][1]:.0%}",
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=7,
            color="#D55E00",
        )
    if t["n_neg_inf_test"]:
        fig.text(
            0.45,
            0.02,
            f"{t['n_neg_inf_test']} test images with λ₁ = −∞ not in (b)",
            ha="center",
            fontsize=7,
        )
    save(fig, pdf, png)
