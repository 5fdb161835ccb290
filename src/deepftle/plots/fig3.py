r"""Figure 3. (a) Test error (%, log axis) vs width N at L = 2 for random hidden weights with a
trained readout (solid) and for fully trained networks (dashed), mean over seeds with the
min-max band. (b) The crossover between learning by ridges and random embedding:
:math:`L\langle\lambda_1\rangle_d` on the decision boundary (solid) and
:math:`L\langle\lambda_1\rangle_c` in the centre of the input plane (dashed) vs N (log axis) for
each depth L, means over initial-weight realisations, with the fit
:math:`-C_c L + \log N` (dotted). Widths where a net is below the accuracy floor are marked
with open circles."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import style

#: depth colours close to the paper's (red, green, blue, black), Okabe-Ito (colour-blind safe)
DEPTH_COLOURS = ["#D55E00", "#009E73", "#0072B2", "#000000", "#CC79A7", "#E69F00"]


def summarise_errors(errors: pd.DataFrame) -> pd.DataFrame:
    """Mean, std, min and max of the final test error per (N, mode) over seeds."""
    g = errors.groupby(["mode", "N"]).test_error
    return g.agg(["mean", "std", "min", "max", "count"]).reset_index()


def summarise_crossover(table: pd.DataFrame) -> pd.DataFrame:
    """Per (L, N): mean and std of lam_d and lam_c over realisations, their count, and
    ``n_below_floor`` (nets below the accuracy floor)."""
    g = table.groupby(["L", "N"])
    out = g[["lam_d", "lam_c"]].agg(["mean", "std"])
    out.columns = [f"{a}_{b}" for a, b in out.columns]
    out["n_nets"] = g.size()
    out["n_below_floor"] = g.below_floor.sum().astype(int)
    return out.reset_index()


def _panel_a(ax, errors):
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, ScalarFormatter

    summ = summarise_errors(errors)
    for mode, ls, label in (("readout", "-", "random features"), ("full", "--", "fully trained")):
        d = summ[summ["mode"] == mode].sort_values("N")
        if d.empty:
            continue
        floor = 1e-2  # 0.01 %: an error of 0 stays visible on the log axis
        ax.plot(d.N, np.maximum(100 * d["mean"], floor), ls, color="k", lw=1.3, label=label)
        ax.fill_between(
            d.N,
            np.maximum(100 * d["min"], floor),
            np.maximum(100 * d["max"], floor),
            color="k",
            alpha=0.12,
            lw=0,
        )
    ax.set(xscale="log", yscale="log", xlabel="$N$", ylabel="Test error (%)")
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    if len(summ):
        ax.set_xlim(summ.N.min(), summ.N.max())
    ax.text(0.95, 0.95, "(a)", transform=ax.transAxes, ha="right", va="top")
    ax.legend(fontsize=6, frameon=False, loc="upper right", bbox_to_anchor=(1.0, 0.88))
    return summ


def _panel_b(ax, summ, fit, min_accuracy):
    from matplotlib.lines import Line2D
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    depths = sorted(summ.L.unique())
    Ns = np.geomspace(summ.N.min(), summ.N.max(), 50)
    handles = []
    for i, L in enumerate(depths):
        c = DEPTH_COLOURS[i % len(DEPTH_COLOURS)]
        d = summ[summ.L == L].sort_values("N")
        ax.plot(d.N, d.lam_d_mean, "-", color=c, lw=1.4)
        ax.plot(d.N, d.lam_c_mean, "--", color=c, lw=1.4)
        ax.plot(Ns, -fit["C_c"] * L + np.log(Ns), ":", color=c, lw=1.2)
        bad = d[d.n_below_floor > 0]
        for col in ("lam_d_mean", "lam_c_mean"):
            ax.plot(bad.N, bad[col], "o", mfc="none", mec=c, ms=5, mew=0.9)
        handles.append(Line2D([], [], color=c, lw=1.4, label=f"$L = {L}$"))
    lo = np.nanmin(summ[["lam_d_mean", "lam_c_mean"]].to_numpy())
    hi = np.nanmax(summ[["lam_d_mean", "lam_c_mean"]].to_numpy())
    ax.set_ylim(lo - 0.5, hi + 0.8)
    handles += [
        Line2D([], [], color="0.3", ls="-", label=r"$L\langle\lambda_1\rangle_d$"),
        Line2D([], [], color="0.3", ls="--", label=r"$L\langle\lambda_1\rangle_c$"),
        Line2D([], [], color="0.3", ls=":", label=rf"$-C_cL+\log N$, $C_c={fit['C_c']:.2f}$"),
    ]
    n_bad = int(summ.n_below_floor.sum())
    if n_bad:
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                mfc="none",
                mec="0.3",
                ls="none",
                label=f"{n_bad} net(s) < {100 * min_accuracy:g} % acc.",
            )
        )
    ax.legend(
        handles=handles, fontsize=6, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0)
    )
    ax.set(xscale="log", xlabel="$N$", ylabel=r"$L\lambda_1^{(L)}(\boldsymbol{x})$")
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlim(summ.N.min() / 1.12, summ.N.max() * 1.12)
    ax.text(0.02, 0.97, "(b)", transform=ax.transAxes, ha="left", va="top")


def plot_fig3(
    errors: pd.DataFrame,
    crossover: pd.DataFrame,
    fit: dict,
    pdf,
    png,
    *,
    min_accuracy: float,
    note: str = "",
):
    """``errors``: N, mode, seed, test_error (panel a); ``crossover``: N, L, seed, lam_d, lam_c,
    below_floor (panel b); ``fit``: C_c, C_d (:func:`deepftle.circle.crossover.fit_crossover`);
    ``note`` is printed under the figure (e.g. where the run departs from the paper's protocol).
    Returns ``(error summary, crossover summary)``."""
    import matplotlib.pyplot as plt

    style.setup()
    fig, (ax_a, ax_b) = plt.subplots(
        1, 2, figsize=(7.0, 2.6), gridspec_kw=dict(width_ratios=[1, 2.0])
    )
    summ_a = _panel_a(ax_a, errors)
    summ_b = summarise_crossover(crossover)
    _panel_b(ax_b, summ_b, fit, min_accuracy)
    fig.tight_layout()
    if note:
        fig.text(0.5, -0.01, note, ha="center", va="top", fontsize=6)
    style.save(fig, pdf, png)
    return summ_a, summ_b
