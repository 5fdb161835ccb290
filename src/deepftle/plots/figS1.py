r"""Figure S1 (the preprint's Fig. 3b): distribution of :math:`\lambda_1^{(L)}` over the test
inputs vs training epoch for three initialisations :math:`\log(G N \sigma_w^2)` (median,
10-90 % band), with the random-network prediction
:math:`\lambda_1 \approx \tfrac12 \log(G N \sigma_w^2)` marked at epoch 0."""

from __future__ import annotations

import pandas as pd

from . import style

S_COLOURS = {-0.2: "tab:blue", 0.0: "tab:green", 0.2: "tab:red"}


def plot_figS1(lam: pd.DataFrame, pdf, png, width: int, depth: int) -> None:
    """``lam``: rows of :func:`deepftle.circle.fields.summarise_lam1` for each initialisation s."""
    import matplotlib.pyplot as plt

    style.setup()
    fig, ax = plt.subplots(figsize=(4.4, 3.3))
    masked = int(lam.n_neg_inf.sum()) if len(lam) else 0
    for s, d in lam.groupby("s"):
        c = S_COLOURS.get(round(float(s), 6), None)
        ax.plot(d.epoch, d["median"], color=c, lw=1.3, label=rf"$\log GN\sigma_w^2={s:g}$")
        ax.fill_between(d.epoch, d.q10, d.q90, color=c, alpha=0.2, lw=0)
        ax.plot(
            [d.epoch.min()], [0.5 * s], marker="_", ms=22, mew=2.5, color=c, ls="none", zorder=5
        )
    ax.plot(
        [],
        [],
        marker="_",
        ms=12,
        mew=2.5,
        color="0.3",
        ls="none",
        label=r"epoch 0 prediction $\frac{1}{2}\,\log GN\sigma_w^2$",
    )
    ax.axhline(0, color="0.5", lw=0.5)
    ax.set(
        xlabel="epoch",
        ylabel=r"$\lambda_1^{(L)}(\boldsymbol{x})$ (test inputs)",
        title=f"$N={width}$, $L={depth}$: median, 10-90 %",
    )
    ax.legend(fontsize=7, frameon=False)
    if masked:
        ax.text(
            0.99,
            0.01,
            f"{masked} values $\\lambda_1=-\\infty$ excluded from quantiles",
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=6,
        )
    fig.tight_layout()
    style.save(fig, pdf, png)
