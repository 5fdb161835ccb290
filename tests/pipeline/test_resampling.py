"""Resampling for the claims: bootstrap intervals cover known values and refuse what cannot be
resampled, permutation p-values match exact enumeration, the within-stratum slope, AUROC and
the Wilson interval against reference values, and every draw repeatable."""

import math

import numpy as np
import pytest

from deepftle.pipeline.resampling import (
    auroc,
    bootstrap_ci,
    claim_rng,
    nested_bootstrap_ci,
    permutation_p,
    wilson_ci,
    within_slope,
)


def test_claim_rng_repeatable_and_keyed():
    a = claim_rng(0, "fig2/x").random(3)
    assert np.array_equal(a, claim_rng(0, "fig2/x").random(3))
    assert not np.array_equal(a, claim_rng(0, "fig2/y").random(3))
    assert not np.array_equal(a, claim_rng(1, "fig2/x").random(3))


def test_bootstrap_mean_interval_matches_the_normal_theory():
    rng = np.random.default_rng(0)
    v = rng.normal(2.0, 1.0, 400)
    lo, hi = bootstrap_ci(
        lambda i, v=v: v[i].mean(), v.size, n_boot=2000, level=0.95, rng=claim_rng(0, "mean")
    )
    se = v.std(ddof=1) / math.sqrt(v.size)
    assert lo == pytest.approx(v.mean() - 1.96 * se, abs=0.25 * se)
    assert hi == pytest.approx(v.mean() + 1.96 * se, abs=0.25 * se)


def test_bootstrap_coverage_on_repeated_samples():
    """About 95 % of intervals from fresh samples cover the true mean."""
    rng = np.random.default_rng(1)
    cover = 0
    for k in range(200):
        v = rng.exponential(1.0, 60)
        lo, hi = bootstrap_ci(
            lambda i, v=v: v[i].mean(), v.size, n_boot=400, level=0.95, rng=claim_rng(k, "cov")
        )
        cover += lo < 1.0 < hi
    assert 0.88 <= cover / 200 <= 0.99


def test_strata_keep_their_sizes_and_single_rows_give_no_interval():
    x = np.array([0, 0, 0, 10, 10, 10.0])
    seen = []
    bootstrap_ci(
        lambda i: seen.append(np.sort(x[i])) or 0.0,
        6,
        strata=[0, 0, 0, 1, 1, 1],
        n_boot=50,
        level=0.95,
        rng=claim_rng(0, "s"),
    )
    assert all(np.array_equal(s, x) for s in seen)  # three from each stratum, always
    lo, hi = bootstrap_ci(
        lambda i: x[i].mean(),
        6,
        strata=[0, 1, 2, 3, 4, 4],
        n_boot=50,
        level=0.95,
        rng=claim_rng(0, "s"),
    )
    assert math.isnan(lo) and math.isnan(hi)
    with pytest.raises(ValueError, match="strata has shape"):
        bootstrap_ci(lambda i: 0.0, 6, strata=[0, 1], n_boot=5, level=0.95, rng=claim_rng(0, ""))
    with pytest.raises(ValueError, match="level"):
        bootstrap_ci(lambda i: 0.0, 6, n_boot=5, level=95, rng=claim_rng(0, ""))


def test_mostly_nan_statistic_gives_no_interval():
    v = np.array([1.0, 2.0, 3.0, 4.0])
    lo, _ = bootstrap_ci(
        lambda i: np.nan if 0 in i else v[i].mean(),
        4,
        n_boot=200,
        level=0.95,
        rng=claim_rng(0, "nan"),
    )
    assert math.isnan(lo)


def test_nested_bootstrap_spreads_between_nets():
    """Nets whose means differ: the nested interval is much wider than the inputs-only one."""
    nets = [np.random.default_rng(j).normal(mu, 1.0, 500) for j, mu in enumerate((0, 1, 2))]

    def stat(draw):
        return float(np.mean([nets[j][i].mean() for j, i in draw]))

    lo, hi = nested_bootstrap_ci(stat, [500] * 3, n_boot=500, level=0.95, rng=claim_rng(0, "n"))
    one = nested_bootstrap_ci(
        lambda d: float(nets[0][d[0][1]].mean()),
        [500],
        n_boot=500,
        level=0.95,
        rng=claim_rng(0, "n"),
    )
    assert hi - lo > 5 * (one[1] - one[0])


def test_permutation_p_exact_matches_enumeration():
    x = np.array([1, 2, 3, 4, 5])
    y = np.array([1.0, 3.0, 2.0, 5.0, 4.0])
    stat = lambda perm: float(np.corrcoef(perm, y)[0, 1])
    p = permutation_p(stat, x, alternative="greater", n_perm=1000, rng=claim_rng(0, "p"))
    import itertools

    obs = stat(x)
    ref = np.mean([stat(np.array(q)) >= obs - 1e-12 for q in itertools.permutations(x)])
    assert p == pytest.approx(ref)
    perfect = lambda perm: float(np.corrcoef(perm, x)[0, 1])
    assert permutation_p(
        perfect, x, alternative="greater", n_perm=1000, rng=claim_rng(0, "p")
    ) == pytest.approx(1 / 120)


def test_permutation_p_within_strata_and_monte_carlo():
    rng = np.random.default_rng(2)
    strata = np.repeat([0, 1, 2, 3], 9)
    x = np.tile(np.repeat([1.0, 2.0, 3.0], 3), 4)
    y = -x + strata * 10 + rng.normal(0, 0.1, x.size)
    stat = lambda perm: within_slope(perm, y, strata)
    p = permutation_p(
        stat, x, strata=strata, alternative="less", n_perm=500, rng=claim_rng(0, "mc")
    )
    assert p == pytest.approx(1 / 501)
    noise = rng.normal(size=x.size)
    p = permutation_p(
        lambda perm: within_slope(perm, noise, strata),
        x,
        strata=strata,
        alternative="less",
        n_perm=500,
        rng=claim_rng(0, "mc3"),
    )
    assert 0.01 < p < 0.99
    with pytest.raises(ValueError, match="alternative"):
        permutation_p(stat, x, alternative="two", n_perm=5, rng=claim_rng(0, ""))


def test_within_slope_removes_stratum_intercepts():
    x = np.array([1.0, 2, 3, 4, 5, 6])
    y = np.array([2.0, 4, 6, -92, -90, -88])  # slope 2 in each, intercepts 0 and -100
    assert within_slope(x, y, [0, 0, 0, 1, 1, 1]) == pytest.approx(2.0)
    assert within_slope(x, y) < 0  # one intercept: the strata's offset reads as a falling trend
    assert math.isnan(within_slope([1.0, 1.0], [2.0, 3.0]))
    assert within_slope([1, 2, np.nan], [1, 3, 5]) == pytest.approx(2.0)


def test_auroc_reference_values():
    assert auroc([1, 2, 3, 4], [0, 0, 1, 1]) == 1.0
    assert auroc([4, 3, 2, 1], [0, 0, 1, 1]) == 0.0
    assert auroc([1, 1, 1, 1], [0, 1, 0, 1]) == 0.5  # ties count one half
    assert auroc([1, 3, 2, 4], [0, 0, 1, 1]) == pytest.approx(0.75)
    assert auroc([1, np.nan, 3], [0, 1, 1]) == 1.0  # non-finite scores left out
    assert math.isnan(auroc([1, 2], [1, 1]))


def test_wilson_interval_reference():
    lo, hi = wilson_ci(10, 20, 0.95)
    assert (lo, hi) == pytest.approx((0.2993, 0.7007), abs=1e-4)
    assert wilson_ci(0, 10, 0.95)[0] == 0.0
    assert all(math.isnan(v) for v in wilson_ci(0, 0, 0.95))
