"""Statistics behind Figure 4: error and entropy vs λ₁ in equal-width bins, the box of a class
in the 2-D map, and the summary table."""

from __future__ import annotations

import heapq

import numpy as np
import pandas as pd

__all__ = [
    "entropy",
    "ensemble_entropy",
    "equal_width_bins",
    "class_box",
    "box_table",
    "summary_table",
    "cluster_centres",
    "nearest_cluster",
    "decile_means",
    "MIN_PAIRS",
    "rank_trend_claim",
    "error_auroc_claim",
    "decile_gap_claim",
    "nested_claim",
    "mains_claims",
]

#: the fewest finite pairs an MNIST trend (:func:`deepftle.pipeline.claims.spearman`) is computed
#: on: a sweep of two widths gives NaN (the claim fails), not a ρ of ±1
MIN_PAIRS = 3


def entropy(probs) -> np.ndarray:
    """Predictive uncertainty H = -Σ p log p (natural log) per row."""
    p = np.asarray(probs, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p), 0.0)
    return -terms.sum(axis=1)


def ensemble_entropy(probs_list) -> np.ndarray:
    """H = -Σᵢ ⟨pᵢ⟩ log ⟨pᵢ⟩ with ⟨·⟩ the average over an ensemble of nets (``probs_list``: one
    ``(n, classes)`` array per net, all of one shape)."""
    arrays = [np.asarray(p, dtype=np.float64) for p in probs_list]
    if not arrays:
        raise ValueError("ensemble_entropy needs at least one net's probabilities")
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"ensemble members disagree in shape: {sorted(shapes)}")
    return entropy(np.mean(arrays, axis=0))


def equal_width_bins(lam, error, H, n_bins: int = 60, min_count: int = 5) -> pd.DataFrame:
    """Bins of equal width in λ₁ over the finite values (as the paper's Fig. 4b); bins with
    fewer than ``min_count`` inputs are dropped. Per bin: λ range and centre, count, error rate
    with its binomial standard error, mean H with its standard error."""
    lam = np.asarray(lam, dtype=np.float64)
    error = np.asarray(error, dtype=np.float64)
    H = np.asarray(H, dtype=np.float64)
    finite = np.isfinite(lam)
    l, e, h = lam[finite], error[finite], H[finite]
    if len(l) == 0:
        raise ValueError("no finite lambda_1 to bin")
    edges = np.linspace(l.min(), l.max(), n_bins + 1)
    which = np.clip(np.searchsorted(edges, l, side="right") - 1, 0, n_bins - 1)
    rows = []
    for b in range(n_bins):
        sel = which == b
        n = int(sel.sum())
        if n < min_count:
            continue
        err = float(e[sel].mean())
        rows.append(
            dict(
                bin=b,
                lam_lo=float(edges[b]),
                lam_hi=float(edges[b + 1]),
                lam_mean=float(0.5 * (edges[b] + edges[b + 1])),
                n=n,
                error=err,
                error_se=float(np.sqrt(err * (1 - err) / n)),
                H_mean=float(h[sel].mean()),
                H_se=float(h[sel].std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0,
            )
        )
    return pd.DataFrame(rows)


def cluster_centres(coords, labels, classes: int = 10) -> np.ndarray:
    """Coordinate-wise median of each class's points in a 2-D map, ``(classes, 2)``."""
    coords = np.asarray(coords, dtype=np.float64)
    labels = np.asarray(labels)
    out = np.full((classes, 2), np.nan)
    for c in range(classes):
        if np.any(labels == c):
            out[c] = np.median(coords[labels == c], axis=0)
    return out


def nearest_cluster(coords, centres) -> np.ndarray:
    """Index of the nearest cluster centre (Euclidean, in the map) of every point."""
    d = np.linalg.norm(np.asarray(coords)[:, None, :] - np.asarray(centres)[None], axis=2)
    return np.nanargmin(np.where(np.isnan(d), np.inf, d), axis=1)


def decile_means(lam, values, decile: float = 0.1) -> dict:
    """Mean of ``values`` over the lowest and the highest ``decile`` fraction of inputs by λ₁
    (finite λ₁ only; at least one input each): ``bottom``, ``top``, and the λ₁ cut-offs
    ``lam_bottom_max`` / ``lam_top_min``."""
    lam = np.asarray(lam, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(lam)
    l, v = lam[finite], values[finite]
    if len(l) == 0:
        raise ValueError("no finite lambda_1 to split into deciles")
    if not 0 < decile <= 0.5:
        raise ValueError(f"decile must be in (0, 0.5], got {decile!r}")
    order = np.argsort(l, kind="stable")
    m = max(1, int(round(decile * len(l))))
    return dict(
        bottom=float(v[order[:m]].mean()),
        top=float(v[order[-m:]].mean()),
        lam_bottom_max=float(l[order[m - 1]]),
        lam_top_min=float(l[order[-m]]),
    )


def class_box(coords, fraction: float = 0.93) -> dict:
    """Smallest-area axis-aligned box centred at the (coordinate-wise) median of ``coords``
    that holds at least ``fraction`` of the points.

    With half-widths (a, b) a point is inside when |x - m_x| <= a and |y - m_y| <= b. Points are
    swept in order of |x - m_x|; for each candidate a the smallest b is the k-th smallest
    |y - m_y| seen so far (a max-heap of size k), so the optimum is exact, O(n log n).
    """
    c = np.asarray(coords, dtype=np.float64)
    if len(c) == 0:
        return dict(
            x0=np.nan, x1=np.nan, y0=np.nan, y1=np.nan, n=0, inside=0, fraction=np.nan, area=np.nan
        )
    med = np.median(c, axis=0)
    dx, dy = np.abs(c[:, 0] - med[0]), np.abs(c[:, 1] - med[1])
    k = max(1, int(np.ceil(fraction * len(c) - 1e-9)))
    heap: list[float] = []  # max-heap (negated) of the k smallest dy so far
    best = (np.inf, 0.0, 0.0)
    for i in np.argsort(dx, kind="stable"):
        if len(heap) < k:
            heapq.heappush(heap, -dy[i])
        elif dy[i] < -heap[0]:
            heapq.heapreplace(heap, -dy[i])
        if len(heap) == k:
            a, b = dx[i], -heap[0]
            if a * b < best[0]:
                best = (a * b, a, b)
    _, a, b = best
    inside = int(np.sum((dx <= a) & (dy <= b)))
    return dict(
        x0=med[0] - a,
        x1=med[0] + a,
        y0=med[1] - b,
        y1=med[1] + b,
        n=len(c),
        inside=inside,
        fraction=inside / len(c),
        area=4 * a * b,
    )


def box_table(coords, labels, correct, fraction: float = 0.93, classes=range(10)) -> pd.DataFrame:
    """:func:`class_box` of the correctly classified inputs of every class, with the box area
    relative to the area of the whole map's bounding box."""
    coords = np.asarray(coords)
    span = np.ptp(coords, axis=0)
    total = float(span[0] * span[1]) if len(coords) else np.nan
    rows = []
    for c in classes:
        sel = (np.asarray(labels) == c) & np.asarray(correct, dtype=bool)
        box = class_box(coords[sel], fraction)
        rows.append(dict(cls=c, **box, area_rel=box["area"] / total if total else np.nan))
    return pd.DataFrame(rows)


def summary_table(
    history, lam_test, error_test, H_test, boxes: pd.DataFrame, *, decile: float = 0.1
) -> pd.DataFrame:
    """Long table (quantity, value): train/test accuracy, Spearman ρ(λ₁, error) and ρ(λ₁, H)
    on the test set, error in the top/bottom λ₁ decile, per class box fraction and area."""
    from scipy.stats import spearmanr

    last = history.iloc[-1]
    lam = np.asarray(lam_test, dtype=np.float64)
    err = np.asarray(error_test, dtype=np.float64)
    H = np.asarray(H_test, dtype=np.float64)
    finite = np.isfinite(lam)
    rows = [
        ("train_accuracy", 1 - float(last["train_error"])),
        ("test_accuracy", 1 - float(last["test_error"])),
        ("test_n", int(len(lam))),
        ("test_n_lam1_neg_inf", int((~finite).sum())),
    ]
    l, e, h = lam[finite], err[finite], H[finite]
    rho_e = spearmanr(l, e)
    rho_h = spearmanr(l, h)
    rows += [
        ("spearman_lam1_error", float(rho_e.statistic)),
        ("spearman_lam1_error_p", float(rho_e.pvalue)),
        ("spearman_lam1_H", float(rho_h.statistic)),
        ("spearman_lam1_H_p", float(rho_h.pvalue)),
    ]
    d = decile_means(l, e, decile)
    rows += [
        ("error_bottom_decile", d["bottom"]),
        ("error_top_decile", d["top"]),
        ("error_all", float(e.mean())),
        ("lam1_bottom_decile_max", d["lam_bottom_max"]),
        ("lam1_top_decile_min", d["lam_top_min"]),
    ]
    for _, r in boxes.iterrows():
        c = int(r["cls"])
        rows += [
            (f"box_fraction_class{c}", float(r["fraction"])),
            (f"box_area_class{c}", float(r["area"])),
            (f"box_area_rel_class{c}", float(r["area_rel"])),
        ]
    return pd.DataFrame(rows, columns=["quantity", "value"])


def rank_trend_claim(figure: str, text: str, x, y, *, settings, sign: str = ">"):
    """A direction claim on the Spearman ρ of ``x`` and ``y`` over inputs: the interval from
    resampling the inputs, the one-sided p-value of :func:`scipy.stats.spearmanr` (its t
    approximation; a permutation test on thousands of inputs gives the same to its
    resolution)."""
    from scipy.stats import spearmanr

    from ..pipeline.claims import direction, spearman

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    estimate = spearman(x, y, min_pairs=MIN_PAIRS)
    ci = settings.interval(
        f"{figure}/{text}", lambda idx: spearman(x[idx], y[idx], min_pairs=MIN_PAIRS), len(x)
    )
    p = (
        float(spearmanr(x, y, alternative="greater" if sign == ">" else "less").pvalue)
        if np.isfinite(estimate)
        else float("nan")
    )
    return direction(
        figure,
        text,
        estimate,
        ci,
        sign=sign,
        n=int(ok.sum()),
        p_value=p,
        null="no monotone association (Spearman, t approximation)",
    )


def error_auroc_claim(figure: str, text: str, lam, error, probs, *, settings):
    """λ₁ as a predictor of misclassification: its AUROC above 0.5 (chance), the interval from
    resampling the inputs; the baseline column holds the AUROC of the softmax confidence
    (1 − max p), the predictor any classifier already has."""
    from ..pipeline.claims import direction
    from ..pipeline.resampling import auroc

    lam = np.asarray(lam, dtype=float)
    error = np.asarray(error, dtype=bool)
    doubt = 1.0 - np.asarray(probs, dtype=float).max(axis=1)
    ok = np.isfinite(lam)
    lam, error, doubt = lam[ok], error[ok], doubt[ok]
    ci = settings.interval(f"{figure}/{text}", lambda idx: auroc(lam[idx], error[idx]), len(lam))
    return direction(
        figure,
        text,
        auroc(lam, error),
        ci,
        sign=">",
        against=0.5,
        n=int(ok.sum()),
        baseline=auroc(doubt, error),
        null="AUROC 0.5: lambda_1 does not rank errors above correct predictions",
    )


def decile_gap_claim(figure: str, text: str, lam, values, decile: float, *, settings):
    """The mean of ``values`` in the top ``decile`` of λ₁ minus the bottom decile above 0, the
    interval from resampling the inputs."""
    from ..pipeline.claims import direction

    lam, values = np.asarray(lam, dtype=float), np.asarray(values, dtype=float)

    def gap(idx):
        d = decile_means(lam[idx], values[idx], decile)
        return d["top"] - d["bottom"]

    return direction(
        figure,
        text,
        gap(np.arange(len(lam))),
        settings.interval(f"{figure}/{text}", gap, len(lam)),
        sign=">",
        n=int(np.isfinite(lam).sum()),
    )


def nested_claim(
    figure: str,
    text: str,
    per_net,
    *,
    settings,
    against: float,
    sign: str = ">",
    baseline: float = float("nan"),
    p_value: float = float("nan"),
    null: str = "",
):
    """A direction claim on the mean over nets of a per-input statistic: ``per_net`` is a list
    of ``(statistic, n_inputs)``, ``statistic(index)`` the net's value on those of its inputs;
    the interval resamples nets, then each drawn net's inputs
    (:func:`deepftle.pipeline.resampling.nested_bootstrap_ci`)."""
    from ..pipeline.claims import direction
    from ..pipeline.resampling import claim_rng, nested_bootstrap_ci

    sizes = [n for _, n in per_net]
    estimate = float(np.mean([f(np.arange(n)) for f, n in per_net]))
    ci = nested_bootstrap_ci(
        lambda draw: float(np.mean([per_net[j][0](idx) for j, idx in draw])),
        sizes,
        n_boot=settings.n_boot,
        level=settings.level,
        rng=claim_rng(settings.seed, f"{figure}/{text}"),
    )
    return direction(
        figure,
        text,
        estimate,
        ci,
        sign=sign,
        against=against,
        n=int(sum(sizes)),
        baseline=baseline,
        p_value=p_value,
        null=null,
    )


def mains_claims(figure: str, mains: dict, *, settings) -> list:
    """The per-input claims of Fig. 4(b) over every realisation of the main net (``mains``:
    the arrays of :func:`deepftle.images.stages.ftle_mnist_mains`): error and H (from the other
    nets) rise with λ₁, and λ₁ ranks errors above correct predictions (AUROC, beside the
    softmax confidence's); each the mean over nets, the interval from resampling nets, then
    test images; p the largest of the nets' one-sided p-values (every net must show it)."""
    from scipy.stats import spearmanr

    from ..pipeline.claims import spearman
    from ..pipeline.resampling import auroc

    lam = np.asarray(mains["lam1"], dtype=float)
    err = ~np.asarray(mains["correct"], dtype=bool)
    H = np.asarray(mains["H"], dtype=float)
    doubt = 1.0 - np.asarray(mains["confidence"], dtype=float)
    k = lam.shape[0]
    ok = [np.isfinite(lam[j]) for j in range(k)]

    def per_net(fn):
        out = []
        for j in range(k):
            cols = [a[j][ok[j]] for a in (lam, err, H, doubt)]
            out.append((lambda idx, c=cols: fn(*(a[idx] for a in c)), int(ok[j].sum())))
        return out

    def p_max(y):
        ps = [
            float(spearmanr(lam[j][ok[j]], y[j][ok[j]], alternative="greater").pvalue)
            for j in range(k)
        ]
        return max(ps)

    what = f"{k} main nets x their test images"
    return [
        nested_claim(
            figure,
            f"test error rises with lambda_1 (Spearman rho, mean over {what})",
            per_net(lambda l_, e, h, d: spearman(l_, e, min_pairs=MIN_PAIRS)),
            settings=settings,
            against=0.0,
            p_value=p_max(err.astype(float)),
            null="no monotone association in some net (largest one-sided p, t approximation)",
        ),
        nested_claim(
            figure,
            f"lambda_1 predicts misclassification (AUROC, mean over {what}; "
            "baseline: softmax confidence)",
            per_net(lambda l_, e, h, d: auroc(l_, e)),
            settings=settings,
            against=0.5,
            baseline=float(np.mean([auroc(doubt[j], err[j]) for j in range(k)])),
            null="AUROC 0.5: lambda_1 does not rank errors above correct predictions",
        ),
        nested_claim(
            figure,
            f"predictive uncertainty H (of the other nets) rises with lambda_1 "
            f"(Spearman rho, mean over {what})",
            per_net(lambda l_, e, h, d: spearman(l_, h, min_pairs=MIN_PAIRS)),
            settings=settings,
            against=0.0,
            p_value=p_max(H),
            null="no monotone association in some net (largest one-sided p, t approximation)",
        ),
    ]
