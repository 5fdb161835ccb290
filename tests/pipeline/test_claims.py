"""Claims tables: holds is computed from value and threshold, NaN never holds, round trip; the
shared conventions: Spearman trends (scipy's value, one NaN rule) and the accuracy floor."""
import math
import warnings

import numpy as np
import pytest

from deepftle.pipeline.claims import (COLUMNS, below_floor, claim, floor_claim, floor_note,
                                      gather_claims, spearman, write_claims)
from deepftle.pipeline.files import read_tsv


@pytest.mark.parametrize("value,op,thr,holds", [
    (0.5, ">", 0.0, True), (-0.5, ">", 0.0, False), (0.99, ">=", 0.99, True),
    (3.0, "<", 2.0, False), (True, "==", True, True), (False, "==", True, False),
])
def test_holds_follows_value_and_threshold(value, op, thr, holds):
    c = claim("figX", "a claim", value, op, thr)
    assert c.holds is holds
    assert c.threshold.startswith(op)


def test_nan_never_holds():
    assert claim("figX", "missing", float("nan"), "<", 1.0).holds is False
    assert claim("figX", "missing", float("nan"), ">=", -math.inf).holds is False


def test_unknown_comparison_names_it():
    with pytest.raises(ValueError, match="unknown comparison '=>'"):
        claim("figX", "bad", 1.0, "=>", 0.0)


def test_round_trip_and_gather(tmp_path):
    a = [claim("fig2", "c1", 1.0, ">", 0.0), claim("fig2", "c2", -1.0, ">", 0.0)]
    b = [claim("fig4", "c3", 0.995, ">=", 0.99)]
    write_claims(tmp_path / "fig2.tsv", a, {"who": "test"})
    write_claims(tmp_path / "fig4.tsv", b)
    t = read_tsv(tmp_path / "fig2.tsv")
    assert list(t.columns) == COLUMNS
    assert t["holds"].tolist() == [True, False]
    both = gather_claims([tmp_path / "fig2.tsv", tmp_path / "fig4.tsv"])
    assert both["figure"].tolist() == ["fig2", "fig2", "fig4"]
    assert both["value"].tolist() == [1.0, -1.0, 0.995]


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
        np.sum((rx - rx.mean()) ** 2) * np.sum((ry - ry.mean()) ** 2))
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
    assert math.isnan(spearman([1, np.nan], [1, 2]))            # one pair left
    assert math.isnan(spearman([], []))
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))            # constant x
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
    assert c.value == 2 and c.threshold == "== 0" and not c.holds
    assert floor_claim("fig2", below_floor([0.99], 0.98), "x").holds
    assert floor_note(below) == " [2 of 4 nets below the accuracy floor]"
    assert floor_note([False, False]) == ""
