"""Fig. S2's numbers: decile means, the binned table, the claims (floor marked, never tuned)
and the figure, on synthetic arrays whose relations are known."""

from __future__ import annotations

import numpy as np
import pytest

from deepftle.images.figS2 import figS2_claims, figS2_summary, figS2_tables
from deepftle.images.statistics import MIN_PAIRS, decile_means
from deepftle.pipeline.claims import ClaimSettings, below_floor, spearman


def _ftle(n=2000, rises=True, acc=(0.985, 0.98, 0.975), seed=0):
    """Test-set arrays where the error probability and H rise with λ₁ (or fall)."""
    rng = np.random.default_rng(seed)
    lam = rng.normal(0.0, 0.1, n)
    lam[0] = -np.inf  # a singular Jacobian: kept as -inf, not binned, not counted
    s = 1 / (1 + np.exp(-(lam if rises else -lam) / 0.03))
    wrong = rng.random(n) < 0.3 * s
    H = s + 0.05 * rng.random(n)
    probs = np.full((n, 10), 0.02)
    probs[:, 0] = 0.82 - 0.5 * rng.random(n)
    return dict(
        lam1=lam,
        correct=~wrong,
        H=H,
        probs=probs,
        H_single=H * 0.9,
        ensemble_size=np.array(len(acc)),
        arch=np.array("tanh CNN: test"),
        kind=np.array("cnn"),
        depth=np.array(3),
        epochs=np.array(5),
        test_accuracy=np.array(acc),
        train_accuracy=np.array([a + 0.005 for a in acc]),
    )


def test_decile_means_and_spearman():
    lam = np.array([np.inf * -1, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0])
    vals = np.arange(11.0)
    d = decile_means(lam, vals, 0.2)  # 10 finite values: 2 at each end
    assert d == dict(bottom=1.5, top=9.5, lam_bottom_max=1.0, lam_top_min=8.0)
    with pytest.raises(ValueError, match="no finite"):
        decile_means([-np.inf], [1.0])
    with pytest.raises(ValueError, match="decile"):
        decile_means(lam, vals, 0.7)
    assert spearman([1, 2, 3, np.nan], [2, 4, 9, 1], min_pairs=MIN_PAIRS) == 1.0
    assert np.isnan(spearman([1, 2], [1, 2], min_pairs=MIN_PAIRS))


SETTINGS = ClaimSettings(n_boot=200, n_perm=200)


def test_claims_hold_when_error_and_H_rise():
    claims = figS2_claims(_ftle(), min_accuracy=0.97, settings=SETTINGS)
    assert [c.figure for c in claims] == ["figS2"] * 7
    assert [c.kind for c in claims[:2]] == ["bookkeeping"] * 2
    assert all(c.status == "holds" for c in claims[2:]), [
        (c.claim, c.estimate, c.ci_low) for c in claims
    ]
    assert claims[0].estimate == 0 and "of 3" in claims[0].claim
    assert "CNN (L = 3)" in claims[2].claim
    assert all(c.n == 1999 for c in claims[2:])  # the -inf input is left out of every claim
    assert not any("below" in c.claim for c in claims[2:])


def test_claims_fail_when_error_falls_with_lambda():
    claims = figS2_claims(_ftle(rises=False), min_accuracy=0.97, settings=SETTINGS)
    assert all(c.status == "fails" for c in claims[2:])
    auroc = [c for c in claims if "AUROC" in c.claim][0]
    assert auroc.estimate < 0.5
    assert all(c.estimate < 0 for c in claims[2:] if "AUROC" not in c.claim)


def test_net_below_the_floor_is_counted_and_named():
    f = _ftle(acc=(0.99, 0.90, 0.95))
    assert below_floor(f["test_accuracy"], 0.97).tolist() == [False, True, True]
    claims = figS2_claims(f, min_accuracy=0.97, settings=SETTINGS)
    assert claims[0].estimate == 2 and not claims[0].holds
    assert all("[2 of 3 nets below the accuracy floor]" in c.claim for c in claims[2:])


def test_tables_and_summary():
    f = _ftle()
    t = figS2_tables(f, n_bins=20)
    assert t["n_neg_inf"] == 1 and t["n_test"] == 2000 and t["depth"] == 3
    assert t["bins"]["n"].sum() <= 1999 and (t["bins"]["n"] >= 5).all()
    top, bottom = t["bins"].iloc[-3:], t["bins"].iloc[:3]
    assert top["H_mean"].mean() > bottom["H_mean"].mean()
    s = dict(figS2_summary(f).values)
    assert s["n_test"] == 2000 and s["error_top_decile"] > s["error_bottom_decile"]


@pytest.mark.parametrize("acc", [(0.99, 0.985), (0.99, 0.5)])
def test_figure_is_drawn_and_marks_the_floor(tmp_path, acc):
    import matplotlib.image as mpimg

    from deepftle.plots.figS2 import plot_figS2

    t = figS2_tables(_ftle(acc=acc), n_bins=30)
    plot_figS2(t, tmp_path / "s.pdf", tmp_path / "s.png", min_accuracy=0.97)
    img = mpimg.imread(tmp_path / "s.png")[..., :3]
    assert (tmp_path / "s.pdf").stat().st_size > 5000
    # tab:orange (1.0, 0.50, 0.05) appears only when a net is below the floor
    orange = (np.abs(img - np.array([1.0, 0.498, 0.055])).max(axis=-1) < 0.06).sum()
    assert (orange > 50) == (min(acc) < 0.97)
