"""Ensemble H, equal-width bins, cluster centres, the |cos(v1, dx)| baseline and the Figure 4
claims table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers.published import published

from deepftle.images.fig4 import fig4_claims, fig4_magnitudes
from deepftle.images.stages import path_alignment
from deepftle.images.statistics import (
    cluster_centres,
    ensemble_entropy,
    entropy,
    equal_width_bins,
    nearest_cluster,
)
from deepftle.pipeline.claims import COLUMNS, ClaimSettings, claims_table
from deepftle.pipeline.published import Published


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
    ftle = dict(
        split=np.array(["train"] * half + ["test"] * half),
        index=np.arange(n),
        label=label,
        pred=pred,
        correct=pred == label,
        lam1=lam,
        probs=probs,
        H=entropy(probs),
        H_single=entropy(probs),
        ensemble_size=np.array(3),
    )
    centres = rng.normal(0, 10, (10, 2))
    spread = (lam[:half, None] - lam.min()) * 5
    coords = centres[label[:half]] + spread * rng.normal(size=(half, 2))
    steps = np.linspace(0, 1, 50)
    path_xy = (1 - steps)[:, None] * centres[9] + steps[:, None] * centres[4]
    p4 = np.clip(steps, 0.001, 0.995)
    pprobs = np.zeros((50, 10))
    pprobs[:, 4], pprobs[:, 9] = p4, 1 - p4
    path = dict(
        source_class=np.array(9),
        target_class=np.array(4),
        stop_prob=np.array(0.99),
        lam1=np.sin(np.pi * steps) * 0.2 - 0.1,
        coords=path_xy,
        probs=pprobs,
        pred=pprobs.argmax(1),
        detour=np.array(0.0),
        max_detour=np.array(0.1),
        cos_v1_step=np.full(49, 0.3),
        cos_random=np.full(50, 0.03),
    )
    history = pd.DataFrame(dict(train_error=[0.5, 0.01]))
    N = np.repeat([10, 20, 40], 2)
    jitter = np.tile([-0.01, 0.01], 3)
    widths = pd.DataFrame(
        dict(
            N=N,
            realisation=np.tile([0, 1], 3),
            mean_lam1=0.1 * np.log2(N / 5) + jitter,
            std_lam1=0.4 - 0.1 * np.log2(N / 5) + jitter,
            mean_lam1_init=0.1 * np.log2(N / 5) - 0.3 / np.log2(N / 5),
            std_lam1_init=0.4 - 0.1 * np.log2(N / 5) + 2 / N,
            test_accuracy=0.9,
        )
    )
    return history, ftle, dict(coords=coords, label=label[:half]), path, widths


def _paths(n=20, seed=0, good=True):
    """A table of attack paths: peaks at the crossing and v1 following the steps (or not)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        dict(
            source=9,
            target=np.repeat([4, 7], n // 2),
            reached=True,
            crossing_peak=(0.1 if good else -0.05) + 0.02 * rng.normal(size=n),
            cos_v1=(0.3 if good else 0.05) + 0.01 * rng.random(n),
            cos_rowspace=0.1 + 0.01 * rng.random(n),
            cos_other=0.15 + 0.01 * rng.random(n),
            interior_max=True,
            detour=0.0,
            classes="9>4",
        )
    )


SETTINGS = ClaimSettings(n_boot=200, n_perm=200)


def test_fig4_claims_hold_on_a_made_up_run_that_shows_them():
    """Per-input claims hold with their interval; the one attack path and one net per width
    give no interval (point only); what the attack reaches by construction is bookkeeping."""
    table = claims_table(
        fig4_claims(*_fake(), paper_accuracy=0.9888, settings=SETTINGS, paths=_paths())
    )
    assert list(table.columns) == COLUMNS
    assert len(table) == 15 and (table["figure"] == "fig4").all()
    status = dict(zip(table["claim"], table["status"], strict=True))
    assert "fails" not in status.values(), status
    for key in (
        "test error rises",
        "predicts misclassification",
        "uncertainty H",
        "cluster centres",
        "mean of lambda_1 rises",
        "std of lambda_1 falls",
        "moves the mean",
        "moves the std",
        "peaks where they cross",
        "row space",
        "toward another class",
    ):
        assert [v for c, v in status.items() if key in c] == ["holds"], key
    book = table[table["kind"] == "bookkeeping"]["claim"].tolist()
    assert len(book) == 4 and any("reaches p(4)" in c for c in book)
    row = table[table["claim"].str.contains("row space")].iloc[0]
    assert row["n"] == 20 and row["baseline"] == pytest.approx(0.105, abs=0.01)
    auc = table[table["claim"].str.contains("AUROC")].iloc[0]
    assert 0.5 < auc["estimate"] <= 1 and 0 <= auc["baseline"] <= 1
    assert table.loc[table["claim"].str.contains("train accuracy"), "estimate"].item() == 0.99


def test_fig4_claims_fail_where_the_run_does_not_show_them():
    history, ftle, coords, path, widths = _fake()
    path = dict(
        path,
        lam1=np.linspace(-0.1, 0.2, 50),
        coords=path["coords"][::-1],
        cos_v1_step=np.full(49, 0.01),
    )
    widths = widths.assign(std_lam1=widths["N"] / 100)
    history = pd.DataFrame(dict(train_error=[0.5, 0.05]))
    path = dict(path, detour=np.array(0.3))
    t = claims_table(
        fig4_claims(
            history,
            ftle,
            coords,
            path,
            widths,
            paper_accuracy=0.9888,
            settings=SETTINGS,
            paths=_paths(good=False),
        )
    ).set_index("claim")
    failing = t.index[~t["holds"]]
    for key in (
        "train accuracy",
        "peaks where they cross",
        "ends nearer",
        "row space",
        "toward another class",
        "third class",
        "std of",
    ):
        assert any(key in c for c in failing), key
    assert (t.loc[[c for c in t.index if "std of lambda_1 falls" in c], "status"] == "fails").all()


def test_fig4_magnitudes_read_where_the_published_values_are():
    """Error and H near the published abscissae, the width statistics at the widths both
    sweeps share (within 5 %): compared with the published values, failing where they
    differ."""
    history, ftle, coords, path, widths = _fake()
    widths = pd.DataFrame(
        dict(
            N=[10, 10, 63, 250],
            mean_lam1=[0.40, 0.42, 0.2, 0.3],
            std_lam1=[0.3, 0.3, 0.2, 0.1],
            test_accuracy=0.9,
        )
    )
    pub = published(
        [
            ("fig4", "lam1_mean", 16, 10, 0.413, 0.004),
            ("fig4", "lam1_std", 16, 10, 0.347, 0.004),
            ("fig4", "lam1_mean", 16, 249, 0.638, 0.004),
            ("fig4", "lam1_std", 16, 249, 0.092, 0.004),
        ]
    )
    rows = [
        dict(r, x=x)
        for x in (0.0, 0.15)
        for r in (
            dict(figure="fig4", quantity="error", L=16.0, N=20.0, value=5.0, read_error=1.0),
            dict(figure="fig4", quantity="entropy", L=16.0, N=20.0, value=0.2, read_error=0.02),
        )
    ]
    pub = Published("made up", pub.rows + tuple(rows))
    claims = fig4_magnitudes(ftle, widths, published=pub, settings=SETTINGS)
    assert len(claims) == 8 and {c.kind for c in claims} == {"magnitude"}
    by = {c.claim: c for c in claims}
    mean10 = by[
        "(c, d) mean of lambda_1 at N = 10 (published N = 10; 2 net(s)) against the published"
    ]
    assert mean10.status == "holds" and mean10.baseline == 0.413 and mean10.n == 2
    assert (
        by[
            "(c, d) mean of lambda_1 at N = 250 (published N = 249; 1 net(s)) against the published"
        ].status
        == "fails"
    )
    err0 = [c for c in claims if c.claim.startswith("(b) test error (%) at lambda_1 = 0 ")][0]
    test = ftle["split"] == "test"
    near = np.abs(ftle["lam1"][test]) < 0.0125
    assert err0.n == int(near.sum())
    assert err0.estimate == pytest.approx(100 * (~ftle["correct"][test][near]).mean())


def _mains(k=3, n=600, good=True, seed=0):
    rng = np.random.default_rng(seed)
    lam = rng.normal(0, 0.1, (k, n)) + 0.02 * np.arange(k)[:, None]
    p_err = 0.5 * (lam > 0.1) if good else 0.1 * np.ones_like(lam)
    wrong = rng.random((k, n)) < p_err
    return dict(
        lam1=lam,
        correct=~wrong,
        confidence=0.99 - 0.5 * wrong * rng.random((k, n)),
        H=0.1 + (lam if good else -lam) + 0.01 * rng.random((k, n)),
        test_accuracy=1 - wrong.mean(1),
        train_accuracy=np.full(k, 0.99),
    )


def test_per_input_claims_over_every_main_net():
    """With the realisations of the main net the per-input claims average over nets and
    resample nets, then inputs; a net whose lambda_1 says nothing fails them."""
    history, ftle, coords, path, widths = _fake()
    t = claims_table(
        fig4_claims(
            history,
            ftle,
            coords,
            path,
            widths,
            paper_accuracy=0.9888,
            settings=SETTINGS,
            paths=_paths(),
            mains=_mains(),
        )
    )
    rows = t[t["claim"].str.contains("3 main nets x")]
    assert len(rows) == 3 and (rows["status"] == "holds").all() and (rows["n"] == 1800).all()
    auc = rows[rows["claim"].str.contains("AUROC")].iloc[0]
    assert auc["baseline"] > 0.5  # the confidence of a net that errs with low confidence
    low = t[t["claim"].str.startswith("lowest test accuracy of the 3 main nets")].iloc[0]
    assert low["kind"] == "bookkeeping"
    bad = claims_table(
        fig4_claims(
            history,
            ftle,
            coords,
            path,
            widths,
            paper_accuracy=0.9888,
            settings=SETTINGS,
            paths=_paths(),
            mains=_mains(good=False),
        )
    )
    rows = bad[bad["claim"].str.contains("3 main nets x")]
    assert not (rows["status"] == "holds").any()


def test_width_sweep_nets_below_the_floor_are_counted_and_left_out_once():
    """Sweep nets below their floor: a bookkeeping row counts them, every width claim names
    them, and the trends are claimed a second time without them."""
    history, ftle, coords, path, widths = _fake()
    widths = widths.assign(below_floor=[True, False, False, False, False, False])
    t = claims_table(
        fig4_claims(
            history,
            ftle,
            coords,
            path,
            widths,
            paper_accuracy=0.9888,
            settings=SETTINGS,
            paths=_paths(),
        )
    )
    floor = t[t["claim"].str.startswith("every width-sweep net")].iloc[0]
    assert floor["kind"] == "bookkeeping" and floor["estimate"] == 1 and not floor["holds"]
    named = t[t["claim"].str.contains(r"\[1 of 6 nets below the accuracy floor\]")]
    left_out = t[t["claim"].str.contains("nets below the floor left out")]
    assert len(named) == 4 and len(left_out) == 4
    assert (left_out["n"] == 5).all()
