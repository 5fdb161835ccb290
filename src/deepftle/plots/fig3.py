r"""Figure 3: (a) test error vs width N (L = 2) for random hidden weights with a trained readout
(solid) and for fully trained networks (dashed), mean and min-max band over seeds;
(b) distribution of :math:`\lambda_1^{(L)}` over the test inputs vs training epoch for three
initialisations :math:`\log(G N \sigma_w^2)` (median, 10-90 % band), with the random-network
prediction :math:`\lambda_1 \approx \tfrac12 \log(G N \sigma_w^2)` marked at epoch 0."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import style

S_COLOURS = {-0.2: "tab:blue", 0.0: "tab:green", 0.2: "tab:red"}


def summarise_errors(errors: pd.DataFrame) -> pd.DataFrame:
    """Mean, std, min and max of the final test error per (N, mode) over seeds."""
    g = errors.groupby(["mode", "N"]).test_error
    return g.agg(["mean", "std", "min", "max", "count"]).reset_index()


def summarise_lam1(s: float, epochs: np.ndarray, lam1: np.ndarray) -> pd.DataFrame:
    """Median and 10/90 % quantiles of the finite lambda_1 over inputs at each epoch; the
    number of -inf values (singular J) is counted."""
    finite = np.where(np.isfinite(lam1), lam1, np.nan)
    with np.errstate(invalid="ignore"):
        q = np.nanquantile(finite, [0.1, 0.5, 0.9], axis=1)
    return pd.DataFrame(dict(s=s, epoch=epochs, q10=q[0], median=q[1], q90=q[2],
                             half_s=0.5 * s, n_neg_inf=np.isneginf(lam1).sum(axis=1)))


def plot_fig3(errors: pd.DataFrame, lam: pd.DataFrame, pdf, png, depth_a: int, width_b: int,
              depth_b: int, ymax_error: float = 0.55):
    """``errors``: N, mode, seed, test_error; ``lam``: rows of :func:`summarise_lam1`."""
    import matplotlib.pyplot as plt

    style.setup()
    fig, (ax_a, ax_b) = plt.subplots(1, 2, figsize=(8.4, 3.3))
    summ = summarise_errors(errors)
    for mode, ls, label in (("readout", "-", "random hidden weights, trained readout"),
                            ("full", "--", "fully trained")):
        d = summ[summ["mode"] == mode].sort_values("N")
        if d.empty:
            continue
        ax_a.plot(d.N, d["mean"], ls, color="k", marker="o", ms=3, label=label)
        ax_a.fill_between(d.N, d["min"], d["max"], color="k", alpha=0.12, lw=0)
    from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

    ax_a.set(xscale="log", xlabel="$N$", ylabel="test classification error",
             title=f"(a) $L={depth_a}$, mean and min-max over "
                   f"{int(summ['count'].min()) if len(summ) else 0} seeds")
    ax_a.set_ylim(0, max(ymax_error, float(errors.test_error.max()) + 0.02) if len(errors) else 1)
    if len(summ):
        ax_a.xaxis.set_major_locator(FixedLocator(sorted(summ.N.unique())))
        ax_a.xaxis.set_minor_locator(NullLocator())
        ax_a.xaxis.set_major_formatter(ScalarFormatter())
    ax_a.legend(fontsize=7, frameon=False)
    masked = int(lam.n_neg_inf.sum()) if len(lam) else 0
    for s, d in lam.groupby("s"):
        c = S_COLOURS.get(round(float(s), 6), None)
        ax_b.plot(d.epoch, d["median"], color=c, lw=1.3,
                  label=rf"$\log GN\sigma_w^2={s:g}$")
        ax_b.fill_between(d.epoch, d.q10, d.q90, color=c, alpha=0.2, lw=0)
        ax_b.plot([d.epoch.min()], [0.5 * s], marker="_", ms=22, mew=2.5, color=c, ls="none",
                  zorder=5)
    ax_b.plot([], [], marker="_", ms=12, mew=2.5, color="0.3", ls="none",
              label=r"epoch 0 prediction $\frac{1}{2}\,\log GN\sigma_w^2$")
    ax_b.axhline(0, color="0.5", lw=0.5)
    ax_b.set(xlabel="epoch", ylabel=r"$\lambda_1^{(L)}(\boldsymbol{x})$ (test inputs)",
             title=f"(b) $N={width_b}$, $L={depth_b}$: median, 10-90 %")
    ax_b.legend(fontsize=7, frameon=False)
    if masked:
        ax_b.text(0.99, 0.01, f"{masked} values $\\lambda_1=-\\infty$ excluded from quantiles",
                  transform=ax_b.transAxes, ha="right", va="bottom", fontsize=6)
    fig.tight_layout()
    style.save(fig, pdf, png)
    return summ
