"""Ensemble H, equal-width bins, cluster centres, the |cos(v1, dx)| baseline and the Figure 4
claims table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deepftle.mnist.fig4 import fig4_claims, fig4_magnitudes
from deepftle.mnist.stages import path_alignment
from deepftle.mnist.statistics import (cluster_centres, ensemble_entropy, entropy,
                                       equal_width_bins, nearest_cluster)
from deepftle.pipeline.claims import COLUMNS, ClaimSettings, claims_table
from deepftle.pipeline.published import Published
from helpers.published import published


def _probs(n, seed):
    p = np.random.default_rng(seed).random((n, 10)) ** 4
    return p / p.sum(1, keepdims=True)


def test_ensemble_entropy():
    p, q = _probs(50, 0), _probs(50, 1)
    np.testing.assert_array_equal(ensemble_entropy([p]), entropy(p))  # M = 1: single-net H
    np.testing.assert_allclose(ensemble_entropy([p, q]), entropy((p + q) / 2))
    # disagreeing confident nets: the ensemble is uncertain where each net is sure
    a, b = np.eye(10)[[0]], np.eye(10)[[1]]
    assert ensemble_entropy([a, b])[0] == pytest.approx(np.log(2))
    assert entropy(a)[0] == 0
    with pytest.raises(ValueError, match="shape"):
        ensemble_entropy([p, q[:10]])
    with pytest.raises(ValueError, match="at least one"):
        ensemble_entropy([])


def test_equal_width_bins():
    lam = np.array([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0, -np.inf])
    err = (lam > 0.55).astype(float)
    t = equal_width_bins(lam, err, err, n_bins=2, min_count=1)
    assert t["n"].tolist() == [5, 5] and t["error"].tolist() == [0.0, 0.8]
    assert t["lam_lo"].tolist() == [0.0, 0.5] and t["lam_hi"].tolist() == [0.5, 1.0]
    assert equal_width_bins(lam, err, err, n_bins=2, min_count=6).empty


def test_cluster_centres_and_nearest():
    coords = np.array([[0, 0], [0, 2], [10, 10], [10, 12.0]])
    c = cluster_centres(coords, [0, 0, 1, 1], classes=3)
    np.testing.assert_array_equal(c[:2], [[0, 1], [10, 11]])
    assert np.isnan(c[2]).all()
    assert nearest_cluster(np.array([[1, 1], [9, 9.0]]), c).tolist() == [0, 1]


def test_alignment_baseline_is_random_level():
    d = 784
    rng = np.random.default_rng(0)
    images = np.cumsum(rng.random((21, d)) * 0.01, axis=0)
    dx = np.diff(images, axis=0)
    v1 = np.vstack([dx, dx[-1:]])  # v1 along the step: |cos| = 1
    out = path_alignment(v1, images, n_random=200)
    np.testing.assert_allclose(out["cos_v1_step"], 1.0)
    assert out["cos_random"].mean() == pytest.approx(np.sqrt(2 / (np.pi * d)), rel=0.1)


def _fake(n=400, seed=0, good=True):
    rng = np.random.default_rng(seed)
    lam = rng.normal(0, 0.1, n)
    wrong = rng.random(n) < (0.5 * (lam > 0.1) if good else 0.1)
    label = rng.integers(0, 10, n)
    pred = np.where(wrong, (label + 1) % 10, label)
    probs = np.full((n, 10), 0.01)
    probs[np.arange(n), pred] = 0.91 - 0.5 * np.clip(lam, 0, 1) * good
    half = n // 2
    ftle = dict(split=np.array(["train"] * half + ["test"] * half), index=np.arange(n),
                label=label, pred=pred, correct=pred == label, lam1=lam, probs=probs,
                H=entropy(probs), H_single=entropy(probs), ensemble_size=np.array(3))
    centres = rng.normal(0, 10, (10, 2))
    spread = (lam[:half, None] - lam.min()) * 5
    coords = centres[label[:half]] + spread * rng.normal(size=(half, 2))
    steps = np.linspace(0, 1, 50)
    path_xy = (1 - steps)[:, None] * centres[9] + steps[:, None] * centres[4]
    p4 = np.clip(steps, 0.001, 0.995)
    pprobs = np.zeros((50, 10))
    pprobs[:, 4], pprobs[:, 9] = p4, 1 - p4
    path = dict(source_class=np.array(9), target_class=np.array(4), stop_prob=np.array(0.99),
                lam1=np.sin(np.pi * steps) * 0.2 - 0.1, coords=path_xy, probs=pprobs,
                pred=pprobs.argmax(1),
                cos_v1_step=np.full(49, 0.3), cos_random=np.full(50, 0.03))
    history = pd.DataFrame(dict(train_error=[0.5, 0.01]))
    widths = pd.DataFrame(dict(N=[10, 20, 40], mean_lam1=[0.1, 0.2, 0.3],
                               std_lam1=[0.3, 0.2, 0.1], test_accuracy=[0.9, 0.9, 0.9]))
    return history, ftle, dict(coords=coords, label=label[:half]), path, widths


SETTINGS = ClaimSettings(n_boot=200, n_perm=200)


def test_fig4_claims_hold_on_a_made_up_run_that_shows_them():
    """Per-input claims hold with their interval; the one attack path and one net per width
    give no interval (point only); what the attack reaches by construction is bookkeeping."""
    table = claims_table(fig4_claims(*_fake(), paper_accuracy=0.9888, settings=SETTINGS))
    assert list(table.columns) == COLUMNS
    assert len(table) == 11 and (table["figure"] == "fig4").all()
    status = dict(zip(table["claim"], table["status"]))
    assert "fails" not in status.values(), status
    for key in ("test error rises", "predicts misclassification", "uncertainty H",
                "cluster centres"):
        assert [v for c, v in status.items() if key in c] == ["holds"], key
    for key in ("peaks where it crosses", "v1 follows", "mean of lambda_1", "std of lambda_1"):
        assert [v for c, v in status.items() if key in c] == ["point only"], key
    book = table[table["kind"] == "bookkeeping"]["claim"].tolist()
    assert len(book) == 3 and any("reaches p(4)" in c for c in book)
    auc = table[table["claim"].str.contains("AUROC")].iloc[0]
    assert 0.5 < auc["estimate"] <= 1 and 0 <= auc["baseline"] <= 1
    assert table.loc[table["claim"].str.contains("train accuracy"), "estimate"].item() == 0.99


def test_fig4_claims_fail_where_the_run_does_not_show_them():
    history, ftle, coords, path, widths = _fake()
    path = dict(path, lam1=np.linspace(-0.1, 0.2, 50), coords=path["coords"][::-1],
                cos_v1_step=np.full(49, 0.01))
    widths = widths.assign(std_lam1=[0.1, 0.2, 0.3])
    history = pd.DataFrame(dict(train_error=[0.5, 0.05]))
    t = claims_table(fig4_claims(history, ftle, coords, path, widths, paper_accuracy=0.9888,
                                 settings=SETTINGS)).set_index("claim")
    failing = t.index[~t["holds"]]
    for key in ("train accuracy", "peaks where it crosses", "ends nearer", "v1 follows",
                "std of"):
        assert any(key in c for c in failing), key
    assert (t.loc[[c for c in t.index if "std of" in c], "status"] == "fails").all()


def test_fig4_magnitudes_read_where_the_published_values_are():
    """Error and H near the published abscissae, the width statistics at the widths both
    sweeps share (within 5 %): compared with the published values, failing where they
    differ."""
    history, ftle, coords, path, widths = _fake()
    widths = pd.DataFrame(dict(N=[10, 63, 250], mean_lam1=[0.41, 0.2, 0.3],
                               std_lam1=[0.3, 0.2, 0.1], test_accuracy=[0.9, 0.9, 0.9]))
    pub = published([("fig4", "lam1_mean", 16, 10, 0.413, 0.004),
                     ("fig4", "lam1_std", 16, 10, 0.347, 0.004),
                     ("fig4", "lam1_mean", 16, 249, 0.638, 0.004),
                     ("fig4", "lam1_std", 16, 249, 0.092, 0.004)])
    rows = [dict(r, x=x) for x in (0.0, 0.15) for r in
            (dict(figure="fig4", quantity="error", L=16.0, N=20.0, value=5.0, read_error=1.0),
             dict(figure="fig4", quantity="entropy", L=16.0, N=20.0, value=0.2,
                  read_error=0.02))]
    pub = Published("made up", pub.rows + tuple(rows))
    claims = fig4_magnitudes(ftle, widths, published=pub, settings=SETTINGS)
    assert len(claims) == 8 and {c.kind for c in claims} == {"magnitude"}
    by = {c.claim: c for c in claims}
    mean10 = by["(c, d) mean of lambda_1 at N = 10 (published N = 10; one net) against the "
                "published"]
    assert mean10.status == "point only" and mean10.baseline == 0.413
    assert by["(c, d) mean of lambda_1 at N = 250 (published N = 249; one net) against the "
              "published"].status == "fails"
    err0 = [c for c in claims if c.claim.startswith("(b) test error (%) at lambda_1 = 0 ")][0]
    test = ftle["split"] == "test"
    near = np.abs(ftle["lam1"][test]) < 0.0125
    assert err0.n == int(near.sum())
    assert err0.estimate == pytest.approx(100 * (~ftle["correct"][test][near]).mean())
