r"""Uncertainty for the claims: bootstrap intervals, permutation p-values, rank statistics.

Every claim of a figure is a statistic of a small table (one row per net, or per input) and
its uncertainty comes from resampling the units that vary between realisations:

- :func:`bootstrap_ci`: rows resampled with replacement inside strata (the realisations of
  one (N, L) cell are exchangeable, different cells are not), a percentile interval;
- :func:`nested_bootstrap_ci`: nets first, then the inputs of each drawn net (per-input
  statistics of an ensemble: the spread between nets and between test images both count);
- :func:`permutation_p`: a one-sided p-value of a statistic under the null that the
  abscissa does not matter inside each stratum (exact enumeration when that is cheap);
- :func:`within_slope`: the least-squares slope of ``y`` on ``x`` with one intercept per
  stratum (``contrast ~ log N + C(L)``);
- :func:`auroc`: the area under the ROC curve of a score that should rank positives higher.

Every random draw comes from a generator seeded from the run's claims seed and the claim's
own key (:func:`claim_rng`), so a claims table is bitwise repeatable and one claim's draws do
not depend on which other claims were computed before it.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np

__all__ = [
    "claim_rng",
    "bootstrap_ci",
    "nested_bootstrap_ci",
    "permutation_p",
    "within_slope",
    "auroc",
    "wilson_ci",
    "MIN_FINITE",
]

#: an interval needs at least this fraction of the resamples to give a finite statistic;
#: otherwise it is NaN (a claim then holds at most at its point estimate)
MIN_FINITE = 0.9


def claim_rng(seed: int, key: str) -> np.random.Generator:
    """A generator for one claim: seeded from the run's ``seed`` and the claim's ``key``."""
    digest = hashlib.sha256(f"{int(seed)}:{key}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _interval(values, level: float, n_draws: int) -> tuple[float, float]:
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    if n_draws == 0 or finite.size < MIN_FINITE * n_draws:
        return math.nan, math.nan
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(finite, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def _check_level(level: float, n_boot: int) -> None:
    if not 0 < level < 1:
        raise ValueError(f"confidence level must be in (0, 1), got {level!r}")
    if int(n_boot) < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot!r}")


def bootstrap_ci(
    statistic: Callable[[np.ndarray], float],
    n_rows: int,
    *,
    strata=None,
    n_boot: int,
    level: float,
    rng: np.random.Generator,
) -> tuple[float, float]:
    """Percentile interval of ``statistic(index)`` over ``n_boot`` resamples of row indices.

    ``statistic`` receives an integer index array into the table (rows may repeat) and
    returns a number. With ``strata`` (one label per row) rows are drawn with replacement
    inside each stratum, keeping each stratum's size; without, from all rows. NaN when a
    stratum holds a single row (one realisation carries no spread of its own, and an interval
    that treats it as exact would understate the uncertainty), when fewer than
    :data:`MIN_FINITE` of the resamples give a finite statistic, or when there are no rows.
    """
    _check_level(level, n_boot)
    if n_rows < 1:
        return math.nan, math.nan
    if strata is None:
        groups = [np.arange(n_rows)]
    else:
        labels = np.asarray(strata)
        if labels.shape != (n_rows,):
            raise ValueError(f"strata has shape {labels.shape}, expected ({n_rows},)")
        groups = [np.flatnonzero(labels == u) for u in _unique(labels)]
    if min(g.size for g in groups) < 2:
        return math.nan, math.nan
    draws = np.empty(int(n_boot))
    for b in range(int(n_boot)):
        idx = np.concatenate([g[rng.integers(0, g.size, g.size)] for g in groups])
        draws[b] = statistic(idx)
    return _interval(draws, level, int(n_boot))


def _unique(labels: np.ndarray) -> list:
    seen, out = set(), []
    for u in labels.tolist():
        key = tuple(u) if isinstance(u, list) else u
        if key not in seen:
            seen.add(key)
            out.append(u)
    return out


def nested_bootstrap_ci(
    statistic: Callable[[list[np.ndarray]], float],
    sizes: Sequence[int],
    *,
    n_boot: int,
    level: float,
    rng: np.random.Generator,
) -> tuple[float, float]:
    """Percentile interval of ``statistic`` over two-stage resamples: nets drawn with
    replacement from ``len(sizes)`` nets, then, for each drawn net ``j``, ``sizes[j]`` of its
    inputs with replacement. ``statistic`` receives a list of ``(net, input index array)``
    pairs and returns a number. With one net only its inputs are resampled."""
    _check_level(level, n_boot)
    sizes = [int(s) for s in sizes]
    if not sizes or min(sizes) < 1:
        return math.nan, math.nan
    draws = np.empty(int(n_boot))
    n_nets = len(sizes)
    for b in range(int(n_boot)):
        nets = rng.integers(0, n_nets, n_nets) if n_nets > 1 else np.zeros(1, dtype=int)
        draws[b] = statistic([(int(j), rng.integers(0, sizes[j], sizes[j])) for j in nets])
    return _interval(draws, level, int(n_boot))


def permutation_p(
    statistic: Callable[[np.ndarray], float],
    x,
    *,
    strata=None,
    alternative: str,
    n_perm: int,
    rng: np.random.Generator,
) -> float:
    """One-sided p-value of ``statistic(x)`` under the null that the labels ``x`` are
    exchangeable inside each stratum.

    ``statistic`` takes a permuted copy of ``x`` (the responses stay in place) and returns a
    number; ``alternative`` is ``"greater"`` (large values are evidence) or ``"less"``. When
    the number of distinct arrangements is at most ``n_perm`` they are all enumerated (an
    exact p-value, the observed one included); otherwise ``n_perm`` random permutations give
    ``(1 + #{T_perm as extreme as T_obs}) / (1 + n_perm)``. NaN when the observed statistic
    is not finite.
    """
    if alternative not in ("greater", "less"):
        raise ValueError(f"alternative must be 'greater' or 'less', got {alternative!r}")
    x = np.asarray(x)
    observed = statistic(x)
    if not np.isfinite(observed):
        return math.nan
    sign = 1.0 if alternative == "greater" else -1.0
    groups = (
        [np.arange(x.size)]
        if strata is None
        else [np.flatnonzero(np.asarray(strata) == u) for u in _unique(np.asarray(strata))]
    )
    n_arrangements = 1
    for g in groups:
        n_arrangements *= _distinct_arrangements(x[g])
        if n_arrangements > n_perm:
            break
    tol = 1e-12 * max(1.0, abs(observed))
    if n_arrangements <= n_perm:
        count = total = 0
        for combo in itertools.product(*[_arrangements(x[g]) for g in groups]):
            perm = x.copy()
            for g, values in zip(groups, combo, strict=True):
                perm[g] = values
            t = statistic(perm)
            total += 1
            count += bool(np.isfinite(t) and sign * (t - observed) >= -tol)
        return count / total
    count = 0
    for _ in range(int(n_perm)):
        perm = x.copy()
        for g in groups:
            perm[g] = x[g][rng.permutation(g.size)]
        t = statistic(perm)
        count += bool(np.isfinite(t) and sign * (t - observed) >= -tol)
    return (1 + count) / (1 + int(n_perm))


def _distinct_arrangements(values: np.ndarray) -> int:
    _, counts = np.unique(values, return_counts=True)
    n = math.factorial(int(values.size))
    for c in counts:
        n //= math.factorial(int(c))
    return n


def _arrangements(values: np.ndarray):
    return [np.array(p) for p in sorted(set(itertools.permutations(values.tolist())))]


def within_slope(x, y, strata=None) -> float:
    """Least-squares slope of ``y`` on ``x`` with one intercept per stratum (both centred
    inside each stratum); only rows with finite ``x`` and ``y`` count. NaN when ``x`` does
    not vary inside any stratum."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    labels = np.zeros(x.size, dtype=int) if strata is None else np.asarray(strata)
    x, y, labels = x[ok], y[ok], labels[ok]
    xc, yc = np.empty_like(x), np.empty_like(y)
    for u in _unique(labels):
        m = labels == u
        xc[m], yc[m] = x[m] - x[m].mean(), y[m] - y[m].mean()
    sxx = float((xc * xc).sum())
    return float((xc * yc).sum()) / sxx if sxx > 0 else math.nan


def auroc(score, positive) -> float:
    """Area under the ROC curve: the probability that a positive scores higher than a
    negative (ties count one half), from the Mann-Whitney U statistic. Rows with a
    non-finite score are left out; NaN when either class is empty."""
    from scipy.stats import rankdata

    score = np.asarray(score, dtype=float)
    positive = np.asarray(positive, dtype=bool)
    ok = np.isfinite(score)
    score, positive = score[ok], positive[ok]
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = rankdata(score)
    u = float(ranks[positive].sum()) - n_pos * (n_pos + 1) / 2.0
    return u / (n_pos * n_neg)


def wilson_ci(k: int, n: int, level: float) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k / n`` (NaN for n = 0)."""
    from scipy.stats import norm

    if n <= 0:
        return math.nan, math.nan
    z = float(norm.ppf(0.5 + level / 2.0))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)
