r"""The claims of Figures 2, 3 and S1 as numbers (rows for
:func:`deepftle.pipeline.claims.write_claims`).

Every claim is computed on every net of its figure; nets below the figure's accuracy floor are
counted in a claim of their own (which then fails), and named in the claim texts, never left
out silently. Trends over a few widths or depths are Spearman rank correlations (−1 for a
strictly falling sequence, +1 for a strictly rising one; two widths or depths are enough). The
floor and the trend follow the conventions of :mod:`deepftle.pipeline.claims`.
"""

from __future__ import annotations

import math

import pandas as pd

from ..pipeline.claims import Claim, below_floor, claim, floor_claim, floor_note, spearman

__all__ = ["mark_accuracy", "fig2_claims", "fig3_claims", "figS1_claims"]


def mark_accuracy(table: pd.DataFrame, min_accuracy: float) -> pd.DataFrame:
    """A copy of ``table`` (with ``test_error``) plus ``accuracy`` (test accuracy, 1 −
    test_error) and ``below_floor`` (:func:`deepftle.pipeline.claims.below_floor`: accuracy <
    ``min_accuracy``; a NaN error counts as below)."""
    out = table.copy()
    out["accuracy"] = 1.0 - out["test_error"].astype(float)
    out["below_floor"] = below_floor(out["accuracy"], min_accuracy)
    return out


def _floor_subject(min_accuracy: float) -> str:
    return f"every net reaches {100 * min_accuracy:g} % test accuracy"


def fig2_claims(ridges: pd.DataFrame, min_accuracy: float) -> list[Claim]:
    """Claims of Fig. 2 from ``results/toy/ridges.tsv`` (N, L, contrast, alignment,
    orthogonality, test_error; seeds averaged per (N, L))."""
    t = mark_accuracy(ridges, min_accuracy)
    note = floor_note(t.below_floor)
    m = t.groupby(["N", "L"])[["contrast", "alignment", "orthogonality"]].mean().reset_index()
    rows = [floor_claim("fig2", t.below_floor, _floor_subject(min_accuracy))]
    for L, g in m.groupby("L"):
        if g.N.nunique() > 1:
            rows.append(claim("fig2", f"ridge contrast falls with N at L = {L} (Spearman rho)"
                              + note, spearman(g.N, g.contrast), "<", 0))
    for N, g in m.groupby("N"):
        if g.L.nunique() > 1:
            rows.append(claim("fig2", f"ridge contrast rises with L at N = {N} (Spearman rho)"
                              + note, spearman(g.L, g.contrast), ">", 0))
    deep = m[m.L == m.L.max()]
    rows.append(claim("fig2", f"top 5 % of lambda_1 lie on the decision boundary at L = "
                      f"{int(m.L.max())} (alignment, mean over N)" + note,
                      deep.alignment.mean(), ">", 0.5))
    for N, g in m.groupby("N"):
        if g.L.nunique() > 1:
            rows.append(claim("fig2", f"stretching directions turn orthogonal to the ridge as L "
                              f"grows at N = {N} (Spearman rho of mean |cos(v1, ridge normal)| "
                              "vs L)" + note, spearman(g.L, g.orthogonality), ">", 0))
    rows.append(claim("fig2", f"stretching directions orthogonal to the ridge at L = "
                      f"{int(m.L.max())} (mean |cos(v1, ridge normal)|; random 0.64)" + note,
                      deep.orthogonality.mean(), ">", 0.8))
    return rows


def fig3_claims(errors: pd.DataFrame, crossover: pd.DataFrame, fit: dict,
                min_accuracy: float) -> list[Claim]:
    """Claims of Fig. 3: ``errors`` (N, mode, seed, test_error of the panel-(a) nets),
    ``crossover`` (N, L, seed, lam_d, lam_c, test_error of the panel-(b) nets) and ``fit``
    (:func:`deepftle.circle.crossover.fit_crossover`)."""
    rows = []
    ro = errors[errors["mode"] == "readout"].groupby("N").test_error.mean()
    rows.append(claim("fig3", "(a) random-feature test error falls with N (Spearman rho)",
                      spearman(ro.index, ro.values), "<", 0))
    full = errors[errors["mode"] == "full"].groupby("N").test_error.mean()
    n_min = min(ro.index)
    rows.append(claim("fig3", f"(a) at N = {n_min} full training beats random features (error "
                      "ratio full / random features)",
                      full.get(n_min, math.nan) / ro[n_min] if ro[n_min] > 0 else math.nan,
                      "<", 1))
    t = mark_accuracy(crossover, min_accuracy)
    note = floor_note(t.below_floor)
    rows.append(floor_claim("fig3", t.below_floor, _floor_subject(min_accuracy)))
    rows.append(claim("fig3", "(b) fitted C_c in L<lam1>_c = -C_c L + log N" + note,
                      fit["C_c"], ">", 0))
    rows.append(claim("fig3", "(b) L<lam1>_c grows like log N (|mean slope vs log N - 1|)"
                      + note, abs(fit["logN_slope"] - 1), "<", 0.5))
    rows.append(claim("fig3", "(b) L<lam1>_d saturates with L (slope per unit L, deepest over "
                      "shallowest pair of depths)" + note, fit["d_saturation"], "<", 0.5))
    deep = t[t.L == t.L.max()].groupby("N").lam_d.mean()
    spread = float(deep.max() - deep.min()) / abs(float(deep.mean())) if len(deep) else math.nan
    rows.append(claim("fig3", f"(b) L<lam1>_d independent of N at L = {int(t.L.max())} "
                      "((max - min) / mean over N)" + note, spread, "<", 0.25))
    m = t.groupby(["L", "N"])[["lam_d", "lam_c"]].mean().reset_index()
    rho = [spearman(g.N, g.lam_d - g.lam_c) for _, g in m.groupby("L")]
    rows.append(claim("fig3", "(b) ridge-background contrast L<lam1>_d - L<lam1>_c falls with N "
                      "at every L (largest Spearman rho over L)" + note,
                      max(rho) if rho and not any(map(math.isnan, rho)) else math.nan, "<", 0))
    return rows


def figS1_claims(lam: pd.DataFrame) -> list[Claim]:
    """Claim of Fig. S1 from the per-epoch quantiles (s, epoch, median): the λ1 distributions
    of the initialisations move together during training."""
    first = lam[lam.epoch == lam.epoch.min()].groupby("s")["median"].mean()
    last = lam[lam.epoch == lam.epoch.max()].groupby("s")["median"].mean()
    spread0 = float(first.max() - first.min())
    spread1 = float(last.max() - last.min())
    return [claim("figS1", f"lambda_1 distributions at the last epoch ({int(lam.epoch.max())}) "
                  "closer to each other than at epoch 0 (spread of medians over s, last / first)",
                  spread1 / spread0 if spread0 > 0 else math.nan, "<", 1)]
