"""Claims tables: status decided by the interval against the margin (holds / point only /
fails), bookkeeping rows apart, NaN never holds, the settings from the config with errors
naming the key, round trip and counts; the shared conventions: Spearman trends (scipy's
value, one NaN rule) and the accuracy floor."""

import math
import warnings

import numpy as np
import pytest

from deepftle.pipeline.claims import (
    COLUMNS,
    ClaimSettings,
    below_floor,
    bookkeeping,
    claim_counts,
    direction,
    equivalence,
    floor_claim,
    floor_note,
    gather_claims,
    magnitude,
    spearman,
    summary_line,
    write_claims,
)
from deepftle.pipeline.files import read_tsv

CONFIG = dict(
    level=0.95,
    n_boot=100,
    n_perm=100,
    seed=0,
    equivalence={"log_N_slope": 0.25, "independent_of_N": 0.25},
    magnitude_read_factor=2.0,
    magnitude_relative=0.2,
)


@pytest.mark.parametrize(
    "estimate,ci,sign,status",
    [
        (-1.0, (-1.5, -0.2), "<", "holds"),
        (-1.0, (-1.5, 0.2), "<", "point only"),
        (-1.0, (math.nan, math.nan), "<", "point only"),
        (-1.0, None, "<", "point only"),
        (0.3, (-0.5, 0.6), "<", "fails"),
        (0.3, (0.1, 0.6), ">", "holds"),
        (0.0, (-0.1, 0.1), ">", "fails"),  # on the margin: not inside the open region
        (math.nan, (0.1, 0.6), ">", "fails"),  # a missing estimate never holds
    ],
)
def test_direction_status_from_interval_and_margin(estimate, ci, sign, status):
    c = direction("figX", "a trend", estimate, ci, sign=sign, n=9)
    assert (c.status, c.holds, c.kind) == (status, status == "holds", "direction")
    assert c.margin == f"{sign} 0"


def test_direction_against_a_level_and_baseline_kept():
    c = direction(
        "figX",
        "ratio",
        0.8,
        (0.7, 0.95),
        sign="<",
        against=1.0,
        n=3,
        baseline=0.5,
        p_value=0.01,
        null="no effect",
    )
    assert c.status == "holds" and c.margin == "< 1"
    assert (c.baseline, c.p_value, c.null) == (0.5, 0.01, "no effect")
    assert (
        direction("figX", "r", 0.8, (0.7, 1.05), sign="<", against=1.0, n=3).status == "point only"
    )


def test_equivalence_needs_the_whole_interval_in_the_band():
    assert equivalence("f", "slope 1", 1.1, (0.9, 1.2), target=1, band=0.25, n=5).status == "holds"
    assert (
        equivalence("f", "slope 1", 1.1, (0.7, 1.2), target=1, band=0.25, n=5).status
        == "point only"
    )
    c = equivalence("f", "slope 1", 1.5, (1.3, 1.7), target=1, band=0.25, n=5)
    assert c.status == "fails" and c.margin == "in [0.75, 1.25]" and c.kind == "equivalence"
    with pytest.raises(ValueError, match="band must be > 0"):
        equivalence("f", "x", 1.0, None, target=1, band=0.0, n=1)


def test_magnitude_holds_within_tolerance_of_the_published():
    c = magnitude("fig3", "C_c", 0.64, (0.55, 0.72), published=0.30, tolerance=0.1, n=60)
    assert c.status == "fails" and c.baseline == 0.30 and c.kind == "magnitude"
    assert (
        magnitude("fig3", "C_c", 0.33, (0.28, 0.37), published=0.30, tolerance=0.1, n=60).status
        == "holds"
    )


@pytest.mark.parametrize(
    "value,op,thr,holds",
    [
        (0.5, ">", 0.0, True),
        (-0.5, ">", 0.0, False),
        (0.99, ">=", 0.99, True),
        (3.0, "<", 2.0, False),
        (math.nan, "<", 1.0, False),
    ],
)
def test_bookkeeping_rows_are_apart(value, op, thr, holds):
    c = bookkeeping("figX", "floor", value, op, thr, n=4)
    assert (c.holds, c.status, c.kind) == (holds, "bookkeeping", "bookkeeping")
    assert c.margin.startswith(op)


def test_unknown_comparison_and_sign_named():
    with pytest.raises(ValueError, match="unknown comparison '=>'"):
        bookkeeping("figX", "bad", 1.0, "=>", 0.0, n=1)
    with pytest.raises(ValueError, match="sign must be"):
        direction("figX", "bad", 1.0, None, sign=">=", n=1)


def test_settings_from_config_and_errors_name_the_key():
    s = ClaimSettings.from_config(CONFIG)
    assert s.band("log_N_slope") == 0.25 and s.n_boot == 100
    assert s.tolerance(0.3, 0.02) == pytest.approx(0.06)  # 2 x reading error
    assert s.tolerance(10.0, 0.02) == pytest.approx(2.0)  # 20 % of the value
    with pytest.raises(ValueError, match=r"unknown keys \['levle'\]"):
        ClaimSettings.from_config(dict(CONFIG, levle=1))
    with pytest.raises(ValueError, match=r"missing keys \['seed'\]"):
        ClaimSettings.from_config({k: v for k, v in CONFIG.items() if k != "seed"})
    with pytest.raises(ValueError, match="claims.level"):
        ClaimSettings.from_config(dict(CONFIG, level=1.5))
    with pytest.raises(ValueError, match="claims.equivalence.nope"):
        s.band("nope")


def test_round_trip_gather_and_counts(tmp_path):
    a = [
        direction("fig2", "c1", -1.0, (-2, -0.5), sign="<", n=9),
        direction("fig2", "c2", -1.0, (-2, 0.5), sign="<", n=9),
        bookkeeping("fig2", "floor", 0, "==", 0, n=9),
    ]
    b = [magnitude("fig4", "c3", 0.1, (0.05, 0.15), published=0.44, tolerance=0.1, n=1000)]
    write_claims(tmp_path / "fig2.tsv", a, {"who": "test"})
    write_claims(tmp_path / "fig4.tsv", b)
    t = read_tsv(tmp_path / "fig2.tsv")
    assert list(t.columns) == COLUMNS
    assert t["status"].tolist() == ["holds", "point only", "bookkeeping"]
    assert t["holds"].tolist() == [True, False, True]
    both = gather_claims([tmp_path / "fig2.tsv", tmp_path / "fig4.tsv"])
    assert both["figure"].tolist() == ["fig2", "fig2", "fig2", "fig4"]
    assert both["estimate"].tolist() == [-1.0, -1.0, 0.0, 0.1]
    assert claim_counts(both) == {"holds": 1, "point only": 1, "fails": 1, "bookkeeping": 1}
    assert summary_line(both) == (
        "3 claims: 1 hold with their 95 % interval, 1 at the point "
        "estimate only, 1 fail (1 bookkeeping rows not counted)"
    )


def test_empty_claims_refused(tmp_path):
    with pytest.raises(ValueError, match="no claims"):
        write_claims(tmp_path / "x.tsv", [])
    assert not (tmp_path / "x.tsv").exists()


def test_spearman_reference_values():
    """Known values, with and without ties: rho = 1 - 6 sum d^2 / (n (n^2 - 1)) without ties."""
    assert spearman([1, 2, 3], [3, 2, 1]) == -1.0
    assert spearman([1, 2], [5, 7]) == pytest.approx(1.0, abs=1e-15)
    assert spearman([1, 2], [7, 5]) == pytest.approx(-1.0, abs=1e-15)
    assert spearman([1, 2, 3, 4], [2, 4, 1, 3]) == 0.0  # sum d^2 = 10: exactly no trend
    assert spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) == pytest.approx(1 - 6 * 4 / 120)
    # ties share the mean rank: x ranks 1.5, 1.5, 3, 4; Pearson of the ranks
    rx, ry = np.array([1.5, 1.5, 3, 4]), np.array([1, 2, 3, 4.0])
    want = np.sum((rx - rx.mean()) * (ry - ry.mean())) / np.sqrt(
        np.sum((rx - rx.mean()) ** 2) * np.sum((ry - ry.mean()) ** 2)
    )
    assert spearman([7, 7, 8, 9], [1, 2, 3, 4]) == pytest.approx(want, abs=1e-15)


def test_spearman_equals_scipy_bitwise():
    """On the finite pairs the value is scipy.stats.spearmanr's statistic to the last bit, ties,
    large samples and left-out pairs included."""
    from scipy.stats import spearmanr

    rng = np.random.default_rng(3)
    for n in (3, 4, 7, 25, 300, 5000):
        for ties in (False, True):
            x = rng.integers(0, 4, n).astype(float) if ties else rng.normal(size=n)
            y = rng.normal(size=n)
            bad = rng.random(n) < 0.1
            x[bad] = rng.choice([np.nan, -np.inf, np.inf], int(bad.sum()))
            ok = np.isfinite(x) & np.isfinite(y)
            if ok.sum() < 3:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                ref = float(spearmanr(x[ok], y[ok]).statistic)
            assert spearman(x, y) == ref, (n, ties)


def test_spearman_nan_rule():
    """Only pairs where both values are finite count; NaN below min_pairs or when a sequence is
    constant over the pairs that count."""
    assert spearman([1, 2, 3, np.nan], [2, 4, 9, 1]) == 1.0
    assert spearman([1, 2, 3, 4], [2, 4, -np.inf, 1]) == spearman([1, 2, 4], [2, 4, 1])
    assert spearman([1, 2, 3], [3, np.inf, 1]) == pytest.approx(-1.0, abs=1e-15)
    assert math.isnan(spearman([1, np.nan], [1, 2]))  # one pair left
    assert math.isnan(spearman([], []))
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))  # constant x
    assert math.isnan(spearman([1, 2, 3, 4], [5, 5, 5, np.nan]))  # constant y over the pairs
    assert spearman([1, 2], [1, 2]) == pytest.approx(1.0, abs=1e-15)
    assert math.isnan(spearman([1, 2], [1, 2], min_pairs=3))
    assert spearman([1, 2, 3], [1, 2, 4], min_pairs=3) == 1.0
    with pytest.raises(ValueError, match="min_pairs"):
        spearman([1, 2], [1, 2], min_pairs=1)
    with pytest.raises(ValueError, match="1-D"):
        spearman([1, 2, 3], [1, 2])


def test_below_floor_and_the_floor_claim():
    below = below_floor([0.99, 0.98, 0.9799, np.nan], 0.98)
    assert below.tolist() == [False, False, True, True]  # NaN: below; the floor itself: reached
    assert not below_floor([0.0, 0.5], 0.0).any()
    with pytest.raises(ValueError, match="min_accuracy"):
        below_floor([0.99], 1.5)
    c = floor_claim("fig2", below, "every net reaches 98 % test accuracy")
    assert c.claim == "every net reaches 98 % test accuracy (nets below the floor, of 4)"
    assert c.estimate == 2 and c.margin == "== 0" and not c.holds and c.kind == "bookkeeping"
    assert floor_claim("fig2", below_floor([0.99], 0.98), "x").holds
    assert floor_note(below) == " [2 of 4 nets below the accuracy floor]"
    assert floor_note([False, False]) == ""
