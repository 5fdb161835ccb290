r"""The claims of Figures 2, 3 and S1 as numbers with intervals (rows for
:func:`deepftle.pipeline.claims.write_claims`).

Every claim is computed on every net of its figure; nets below the figure's accuracy floor are
counted in a bookkeeping row and named in the text of every other claim. The units that vary
between realisations are the nets: intervals resample the realisations of each (N, L) cell
(:func:`deepftle.pipeline.resampling.bootstrap_ci`; a cell with one realisation gives no
interval), trends are least-squares slopes with one intercept per stratum (``contrast ~
log N + C(L)``) and their p-values permute the abscissa inside each stratum. Magnitudes are
held against the published values (:mod:`deepftle.pipeline.published`) within the tolerance
the claims settings derive from each value's reading error.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..pipeline.claims import (
    Claim,
    ClaimSettings,
    below_floor,
    direction,
    equivalence,
    floor_claim,
    floor_note,
    magnitude,
)
from ..pipeline.published import Published
from ..pipeline.resampling import claim_rng, permutation_p, within_slope
from .crossover import fit_crossover, fit_crossover_arrays

__all__ = ["mark_accuracy", "fig2_claims", "fig3_claims", "figS1_claims", "ERROR_FLOOR"]

#: test errors below this count as this in log-error trends (4000 test points resolve 2.5e-4)
ERROR_FLOOR = 1e-4


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


def _cells(t: pd.DataFrame, *columns) -> np.ndarray:
    """One label per row: the cell its realisation belongs to."""
    return np.array(["/".join(str(v) for v in row) for row in t[list(columns)].to_numpy()])


def _slope_claim(
    figure: str,
    text: str,
    t: pd.DataFrame,
    *,
    x: np.ndarray,
    y: np.ndarray,
    strata,
    cells,
    sign: str,
    null: str,
    settings: ClaimSettings,
) -> Claim:
    """A trend claim: the within-stratum slope of ``y`` on ``x``; interval by resampling the
    realisations of each cell; p by permuting ``x`` inside each stratum."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    labels = np.zeros(len(x), dtype=int) if strata is None else np.asarray(strata)
    estimate = within_slope(x, y, labels)
    ci = settings.interval(
        f"{figure}/{text}/ci", lambda idx: within_slope(x[idx], y[idx], labels[idx]), len(x), cells
    )
    p = permutation_p(
        lambda perm: within_slope(perm, y, labels),
        x,
        strata=labels,
        alternative="greater" if sign == ">" else "less",
        n_perm=settings.n_perm,
        rng=claim_rng(settings.seed, f"{figure}/{text}/p"),
    )
    return direction(figure, text, estimate, ci, sign=sign, n=len(t), p_value=p, null=null)


def _mean_claim(
    figure: str, text: str, values, *, cells, baseline: float, settings, n: int
) -> Claim:
    """The mean of per-net ``values`` above 0, the interval resampling within ``cells``."""
    v = np.asarray(values, dtype=float)
    ci = settings.interval(
        f"{figure}/{text}/ci", lambda idx: float(np.nanmean(v[idx])), len(v), cells
    )
    return direction(figure, text, float(np.nanmean(v)), ci, sign=">", n=n, baseline=baseline)


def _cell_magnitude(
    figure: str,
    text: str,
    values,
    *,
    published: Published,
    quantity: str,
    settings: ClaimSettings,
    L=None,
    N=None,
) -> Claim:
    """Our mean of ``values`` (realisations of one cell) against the published value."""
    pub, read = published.get(figure, quantity, L=L, N=N)
    v = np.asarray(values, dtype=float)
    ci = (
        settings.interval(f"{figure}/{text}/ci", lambda idx: float(np.mean(v[idx])), len(v))
        if len(v) > 1
        else None
    )
    return magnitude(
        figure,
        text,
        float(np.mean(v)) if len(v) else math.nan,
        ci,
        published=pub,
        tolerance=settings.tolerance(pub, read),
        n=len(v),
    )


def fig2_claims(
    ridges: pd.DataFrame, min_accuracy: float, *, settings: ClaimSettings, published: Published
) -> list[Claim]:
    """Claims of Fig. 2 from ``results/circle/ridges.tsv`` (one row per net: N, L, seed,
    contrast, alignment, band_fraction, orthogonality, orthogonality_random, L_lam1_centre,
    L_lam1_ridge, test_error)."""
    t = mark_accuracy(ridges, min_accuracy).reset_index(drop=True)
    note = floor_note(t.below_floor)
    cells = _cells(t, "N", "L")
    log_n = np.log(t.N.to_numpy(dtype=float))
    rows = [floor_claim("fig2", t.below_floor, _floor_subject(min_accuracy))]
    null_n = "no trend: widths exchangeable within each depth (permutation)"
    rows.append(
        _slope_claim(
            "fig2",
            "ridge contrast falls with N (slope of contrast on log N, one intercept per L)" + note,
            t,
            x=log_n,
            y=t.contrast,
            strata=t.L.to_numpy(),
            cells=cells,
            sign="<",
            null=null_n,
            settings=settings,
        )
    )
    for L, g in t.groupby("L"):
        if g.N.nunique() > 1:
            rows.append(
                _slope_claim(
                    "fig2",
                    f"ridge contrast falls with N at L = {L} (slope on log N)" + note,
                    g,
                    x=np.log(g.N.to_numpy(dtype=float)),
                    y=g.contrast,
                    strata=None,
                    cells=_cells(g, "N", "L"),
                    sign="<",
                    null="no trend: widths exchangeable",
                    settings=settings,
                )
            )
    rows.append(
        _slope_claim(
            "fig2",
            "ridge contrast rises with L (slope of contrast on L, one intercept per N)" + note,
            t,
            x=t.L.to_numpy(dtype=float),
            y=t.contrast,
            strata=t.N.to_numpy(),
            cells=cells,
            sign=">",
            null="no trend: depths exchangeable within each width",
            settings=settings,
        )
    )
    deep = t[t.L == t.L.max()]
    Lmax = int(t.L.max())
    rows.append(
        _mean_claim(
            "fig2",
            f"top 5 % of lambda_1 lie on the decision boundary at L = {Lmax} (alignment "
            "minus the band's area fraction, mean over nets)" + note,
            deep.alignment - deep.band_fraction,
            cells=_cells(deep, "N", "L"),
            baseline=float(deep.band_fraction.mean()),
            settings=settings,
            n=len(deep),
        )
    )
    excess = t.orthogonality - t.orthogonality_random
    rows.append(
        _mean_claim(
            "fig2",
            f"stretching directions orthogonal to the ridge at L = {Lmax} beyond a random "
            "readout (mean |cos(v1, ridge normal)| minus its random-readout value given "
            "sigma_2/sigma_1)" + note,
            excess[deep.index],
            cells=_cells(deep, "N", "L"),
            baseline=float(deep.orthogonality_random.mean()),
            settings=settings,
            n=len(deep),
        )
    )
    rows.append(
        _slope_claim(
            "fig2",
            "stretching directions turn orthogonal to the ridge as L grows (slope on L of "
            "the orthogonality beyond a random readout, one intercept per N)" + note,
            t,
            x=t.L.to_numpy(dtype=float),
            y=excess,
            strata=t.N.to_numpy(),
            cells=cells,
            sign=">",
            null="no trend: depths exchangeable within each width",
            settings=settings,
        )
    )
    for (N, L), g in t.groupby(["N", "L"]):
        for quantity, column, where in (
            ("Llam1_centre", "L_lam1_centre", "at the centre"),
            ("Llam1_ridge", "L_lam1_ridge", "on the ridge"),
        ):
            if published.has("fig2", quantity, L=L, N=N):
                rows.append(
                    _cell_magnitude(
                        "fig2",
                        f"L lambda_1 {where} (0, 0 / max along +x1) at N = {N}, L = {L} "
                        "against the published colour level" + note,
                        g[column],
                        published=published,
                        quantity=quantity,
                        settings=settings,
                        L=L,
                        N=N,
                    )
                )
    return rows


def _log_error(errors) -> np.ndarray:
    return np.log(np.maximum(np.asarray(errors, dtype=float), ERROR_FLOOR))


def fig3_claims(
    errors: pd.DataFrame,
    crossover: pd.DataFrame,
    min_accuracy: float,
    *,
    settings: ClaimSettings,
    published: Published,
) -> list[Claim]:
    """Claims of Fig. 3: ``errors`` (N, mode, seed, test_error of the panel-(a) nets) and
    ``crossover`` (N, L, seed, lam_d, lam_c, test_error of the panel-(b) nets)."""
    rows = []
    ro = errors[errors["mode"] == "readout"].reset_index(drop=True)
    rows.append(
        _slope_claim(
            "fig3",
            "(a) random-feature test error falls with N (slope of log error on log N)",
            ro,
            x=np.log(ro.N.to_numpy(dtype=float)),
            y=_log_error(ro.test_error),
            strata=None,
            cells=_cells(ro, "N"),
            sign="<",
            null="no trend: widths exchangeable",
            settings=settings,
        )
    )
    n_min = int(errors.N.min())
    small = errors[errors.N == n_min].reset_index(drop=True)
    is_full = (small["mode"] == "full").to_numpy()
    log_err = _log_error(small.test_error)

    def gap(idx):
        f, r = log_err[idx][is_full[idx]], log_err[idx][~is_full[idx]]
        return float(f.mean() - r.mean()) if f.size and r.size else math.nan

    text = (
        f"(a) at N = {n_min} full training beats random features (mean log test error, "
        "full minus random features)"
    )
    rows.append(
        direction(
            "fig3",
            text,
            gap(np.arange(len(small))),
            settings.interval(f"fig3/{text}/ci", gap, len(small), small["mode"].to_numpy()),
            sign="<",
            n=len(small),
        )
    )
    for mode, quantity, name in (
        ("readout", "test_error_random_features", "random features"),
        ("full", "test_error_full", "full training"),
    ):
        for N, g in errors[errors["mode"] == mode].groupby("N"):
            if published.has("fig3", quantity, N=N) and N in (n_min, int(errors.N.max())):
                rows.append(
                    _cell_magnitude(
                        "fig3",
                        f"(a) test error (%) of {name} at N = {N} against the published",
                        100 * g.test_error.astype(float),
                        published=published,
                        quantity=quantity,
                        settings=settings,
                        N=N,
                    )
                )

    t = mark_accuracy(crossover, min_accuracy).reset_index(drop=True)
    note = floor_note(t.below_floor)
    cells = _cells(t, "N", "L")
    rows.append(floor_claim("fig3", t.below_floor, _floor_subject(min_accuracy)))
    arrays = [t[c].to_numpy(dtype=float) for c in ("N", "L", "lam_d", "lam_c")]

    def refit(idx, q):
        return fit_crossover_arrays(*(a[idx] for a in arrays))[q]

    for name, quantity in (("C_c", "C_c"), ("C_d", "C_d")):
        pub, read = published.get("fig3", quantity)
        text = (
            f"(b) fitted {name} (L<lam1>_c = -C_c L + log N; C_d = L<lam1>_d at the "
            "deepest L) against the published" + note
        )
        ci = settings.interval(f"fig3/{text}/ci", lambda idx, q=name: refit(idx, q), len(t), cells)
        rows.append(
            magnitude(
                "fig3",
                text,
                fit_crossover(t)[name],
                ci,
                published=pub,
                tolerance=settings.tolerance(pub, read),
                n=len(t),
            )
        )
    contrast = t.lam_d - t.lam_c
    for (N, L), g in t.groupby(["N", "L"]):
        if N == t.N.min() and published.has("fig3", "Llam_c", L=L, N=N):
            rows.append(
                _cell_magnitude(
                    "fig3",
                    f"(b) L<lam1>_c at N = {N}, L = {L} against the published" + note,
                    g.lam_c,
                    published=published,
                    quantity="Llam_c",
                    settings=settings,
                    L=L,
                    N=N,
                )
            )
        if (
            N == t.N.max()
            and published.has("fig3", "Llam_d", L=L, N=N)
            and published.has("fig3", "Llam_c", L=L, N=N)
        ):
            pd_, rd = published.get("fig3", "Llam_d", L=L, N=N)
            pc, rc = published.get("fig3", "Llam_c", L=L, N=N)
            v = contrast[g.index].to_numpy(dtype=float)
            text = (
                f"(b) contrast L<lam1>_d - L<lam1>_c at N = {N}, L = {L} against the "
                "published" + note
            )
            ci = (
                settings.interval(f"fig3/{text}/ci", lambda idx, v=v: float(v[idx].mean()), len(v))
                if len(v) > 1
                else None
            )
            rows.append(
                magnitude(
                    "fig3",
                    text,
                    float(v.mean()),
                    ci,
                    published=pd_ - pc,
                    tolerance=settings.tolerance(pd_ - pc, math.hypot(rd, rc)),
                    n=len(v),
                )
            )
    band = settings.band("log_N_slope")
    for L, g in t.groupby("L"):
        x, y = np.log(g.N.to_numpy(dtype=float)), g.lam_c.to_numpy(dtype=float)
        text = f"(b) L<lam1>_c grows like log N at L = {L} (slope on log N, 1 +- {band:g})" + note
        ci = settings.interval(
            f"fig3/{text}/ci",
            lambda idx, x=x, y=y: within_slope(x[idx], y[idx]),
            len(g),
            _cells(g, "N"),
        )
        rows.append(
            equivalence("fig3", text, within_slope(x, y), ci, target=1.0, band=band, n=len(g))
        )
    band = settings.band("independent_of_N")
    deep = t[t.L == t.L.max()]
    x, y = np.log(deep.N.to_numpy(dtype=float)), deep.lam_d.to_numpy(dtype=float)
    text = (
        f"(b) L<lam1>_d independent of N at L = {int(t.L.max())} (slope on log N, "
        f"0 +- {band:g})" + note
    )
    ci = settings.interval(
        f"fig3/{text}/ci", lambda idx: within_slope(x[idx], y[idx]), len(deep), _cells(deep, "N")
    )
    rows.append(
        equivalence("fig3", text, within_slope(x, y), ci, target=0.0, band=band, n=len(deep))
    )
    text = (
        "(b) L<lam1>_d saturates with L (its slope per unit L between the two deepest L "
        "over that between the two shallowest)" + note
    )
    ci = settings.interval(f"fig3/{text}/ci", lambda idx: refit(idx, "d_saturation"), len(t), cells)
    rows.append(
        direction(
            "fig3", text, fit_crossover(t)["d_saturation"], ci, sign="<", against=1.0, n=len(t)
        )
    )
    rows.append(
        _slope_claim(
            "fig3",
            "(b) ridge-background contrast L<lam1>_d - L<lam1>_c falls with N (slope on "
            "log N, one intercept per L)" + note,
            t,
            x=np.log(t.N.to_numpy(dtype=float)),
            y=contrast,
            strata=t.L.to_numpy(),
            cells=cells,
            sign="<",
            null="no trend: widths exchangeable within each depth (permutation)",
            settings=settings,
        )
    )
    return rows


def figS1_claims(s_values, snapshots, *, settings: ClaimSettings) -> list[Claim]:
    """Claim of Fig. S1: the λ₁ distributions of the initialisations move together during
    training (the spread of their medians over ``s`` at the last saved epoch over that at the
    first), with an interval from resampling the test inputs (the same inputs for every net).
    ``snapshots``: per net, ``epochs`` and ``lam1`` (epochs × inputs)."""
    lam = [np.where(np.isfinite(d["lam1"]), d["lam1"], np.nan) for d in snapshots]
    epochs = np.asarray(snapshots[0]["epochs"])
    n_in = lam[0].shape[1]

    def ratio(idx):
        first = [np.nanmedian(a[0, idx]) for a in lam]
        last = [np.nanmedian(a[-1, idx]) for a in lam]
        spread0 = max(first) - min(first)
        return (max(last) - min(last)) / spread0 if spread0 > 0 else math.nan

    text = (
        f"lambda_1 distributions at the last epoch ({int(epochs.max())}) closer to each "
        f"other than at epoch {int(epochs.min())} (spread of medians over s = "
        f"{', '.join(f'{float(s):g}' for s in s_values)}, last / first)"
    )
    ci = settings.interval(f"figS1/{text}/ci", ratio, n_in)
    return [direction("figS1", text, ratio(np.arange(n_in)), ci, sign="<", against=1.0, n=n_in)]
