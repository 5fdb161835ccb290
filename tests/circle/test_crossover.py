"""Figs. 2 and 3 claims and the training-settings owner on hand-built inputs with known answers
(fast): boundary / centre averages, the C_c fit, the claims with their intervals, margins and
baselines, accuracy-floor marking, the learning-rate width rule."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers.published import published

from deepftle.circle.claims import fig2_claims, fig3_claims, mark_accuracy
from deepftle.circle.crossover import boundary_centre_means, fit_crossover
from deepftle.circle.data import R0
from deepftle.circle.nets import circle_net
from deepftle.circle.ridges import boundary_normal_cos
from deepftle.nets.train import TrainConfig, train_config, width_scaled_lr
from deepftle.pipeline.claims import ClaimSettings
from deepftle.pipeline.seeds import job_seed

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ClaimSettings(n_boot=300, n_perm=500)

TRAIN = dict(
    optimizer="sgd",
    lr=0.05,
    batch_size=64,
    schedule="constant",
    momentum=0.0,
    weight_decay=0.0,
    lr_width=100,
)


def _circle_field(n=201, on=3.0, centre=-2.0, rest=0.5):
    """A field that is `on` within 0.02 of the circle r0, `centre` for |x| < 0.2, else `rest`."""
    ax = np.linspace(-1, 1, n)
    X1, X2 = np.meshgrid(ax, ax)
    r = np.hypot(X1, X2)
    field = np.full_like(r, rest)
    field[np.abs(r - R0) < 0.02] = on
    field[r < 0.2] = centre
    return ax, r - R0, field, r


def test_boundary_and_centre_averages_of_a_hand_built_field():
    ax, out, field, r = _circle_field()
    lam_d, lam_c = boundary_centre_means(ax, ax, field, out, delta=0.02, centre_radius=0.2)
    assert lam_d == pytest.approx(3.0, abs=0.15)  # the band |r - r0| < 0.02 (grid: 0.01)
    assert lam_c == -2.0
    # a wider band takes in background points: the mean moves towards `rest`, by their share
    wide_d, _ = boundary_centre_means(ax, ax, field, out, delta=0.06, centre_radius=0.2)
    band = np.abs(r - R0) < 0.06
    expected = (
        3.0 * (np.abs(r - R0) < 0.02)[band].sum() + 0.5 * (np.abs(r - R0) >= 0.02)[band].sum()
    ) / band.sum()
    assert wide_d == pytest.approx(expected, abs=0.1)
    # -inf points are left out, not averaged
    field[np.abs(r) < 0.05] = -np.inf
    assert boundary_centre_means(ax, ax, field, out, delta=0.02, centre_radius=0.2)[1] == -2.0


def test_averages_without_a_boundary_are_nan_and_bad_arguments_raise():
    ax, _, field, _ = _circle_field(41)
    lam_d, lam_c = boundary_centre_means(
        ax, ax, field, np.ones_like(field), delta=0.05, centre_radius=0.2
    )
    assert math.isnan(lam_d) and lam_c == -2.0
    with pytest.raises(ValueError, match="delta"):
        boundary_centre_means(ax, ax, field, field, delta=0.0, centre_radius=0.2)
    with pytest.raises(ValueError, match="shape"):
        boundary_centre_means(ax, ax[:-1], field, field, delta=0.1, centre_radius=0.2)


def test_normal_cosine_of_radial_and_tangential_directions():
    ax = np.linspace(-1, 1, 81)
    X1, X2 = np.meshgrid(ax, ax)
    out = np.hypot(X1, X2) - R0
    radial = np.stack([X1, X2], -1)
    tangential = np.stack([-X2, X1], -1)
    ring = np.abs(out) < 0.05
    assert np.nanmin(boundary_normal_cos(ax, ax, radial, out)[ring]) > 0.99
    assert np.nanmax(boundary_normal_cos(ax, ax, tangential, out)[ring]) < 0.05


def _synthetic_crossover(C_c=0.35, C_d=3.0, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for L in (2, 4, 8, 12):
        for N in (4, 10, 25, 64, 160):
            for s in range(3):
                rows.append(
                    dict(
                        N=N,
                        L=L,
                        seed=s,
                        lam_c=-C_c * L + math.log(N) + noise * rng.standard_normal(),
                        lam_d=C_d * (1 - math.exp(-L / 3)),
                        test_error=0.005,
                    )
                )
    return pd.DataFrame(rows)


def test_fit_recovers_C_c_and_C_d_from_synthetic_data():
    fit = fit_crossover(_synthetic_crossover())
    assert fit["C_c"] == pytest.approx(0.35, abs=1e-12)
    assert fit["C_d"] == pytest.approx(3.0 * (1 - math.exp(-4)), abs=1e-12)
    assert fit["logN_slope"] == pytest.approx(1.0, abs=1e-12)
    assert 0 < fit["d_saturation"] < 0.2 and fit["n_fit"] == 60
    noisy = fit_crossover(_synthetic_crossover(noise=0.2))
    assert noisy["C_c"] == pytest.approx(0.35, abs=0.03)
    with pytest.raises(ValueError, match="lam_c"):
        fit_crossover(_synthetic_crossover().assign(lam_c=np.nan))


def _paper_like(noise=0.05):
    """Fig. 3 tables of a run that shows every claim, and a published table it agrees with."""
    rng = np.random.default_rng(5)
    errors = pd.DataFrame(
        [
            dict(
                N=N,
                mode=mode,
                seed=s,
                test_error=(0.3 if N == 4 else 0.01)
                * (1 if mode == "readout" else 0.05)
                * math.exp(0.1 * rng.standard_normal()),
            )
            for N in (4, 16, 64)
            for mode in ("readout", "full")
            for s in range(3)
        ]
    )
    table = _synthetic_crossover(noise=noise)
    fit = fit_crossover(table)
    rows = [
        ("fig3", "C_c", None, None, 0.35, 0.02),
        ("fig3", "C_d", None, None, fit["C_d"], 0.05),
        ("fig3", "test_error_random_features", None, 4, 30.0, 2.0),
        ("fig3", "test_error_random_features", None, 64, 1.0, 0.1),
        ("fig3", "test_error_full", None, 4, 1.5, 0.2),
        ("fig3", "test_error_full", None, 64, 0.05, 0.01),
    ]
    for L in (2, 4, 8, 12):
        rows.append(("fig3", "Llam_c", L, 4, -0.35 * L + math.log(4), 0.05))
        rows.append(("fig3", "Llam_c", L, 160, -0.35 * L + math.log(160), 0.05))
        rows.append(("fig3", "Llam_d", L, 160, 3.0 * (1 - math.exp(-L / 3)), 0.05))
    return errors, table, published(rows)


def test_fig3_claims_hold_on_paper_like_data_and_fail_when_nets_are_below_the_floor():
    errors, table, pub = _paper_like()
    claims = fig3_claims(errors, table, 0.99, settings=SETTINGS, published=pub)
    status = {c.claim: c.status for c in claims if c.kind != "bookkeeping"}
    assert set(status.values()) == {"holds"}, status
    kinds = {c.kind for c in claims}
    assert kinds == {"direction", "magnitude", "equivalence", "bookkeeping"}
    assert all(c.ci_low <= c.estimate <= c.ci_high for c in claims if c.kind != "bookkeeping")
    table.loc[0, "test_error"] = 0.2
    claims = fig3_claims(errors, table, 0.99, settings=SETTINGS, published=pub)
    floor = [c for c in claims if c.claim.startswith("every net")][0]
    assert not floor.holds and floor.estimate == 1 and floor.status == "bookkeeping"
    assert all(
        "1 of 60 nets below the accuracy floor" in c.claim
        for c in claims
        if c.claim.startswith("(b)")
    )


def test_fig3_claims_fail_where_the_run_differs_from_the_paper():
    """C_c twice the published, L<lam1>_d growing with N, L<lam1>_c rising faster than log N:
    the magnitude, the equivalence and the log N claims fail, with their numbers."""
    errors, _, pub = _paper_like()
    rows = []
    rng = np.random.default_rng(0)
    for L in (2, 4, 8, 12):
        for N in (4, 10, 25, 64, 160):
            for s in range(3):
                rows.append(
                    dict(
                        N=N,
                        L=L,
                        seed=s,
                        test_error=0.005,
                        lam_c=-0.7 * L + 1.6 * math.log(N) + 0.05 * rng.standard_normal(),
                        lam_d=3.0 + 0.8 * math.log(N) + 0.05 * rng.standard_normal(),
                    )
                )
    claims = {
        c.claim.split(" (")[0].split(" at ")[0]: c
        for c in fig3_claims(errors, pd.DataFrame(rows), 0.99, settings=SETTINGS, published=pub)
    }
    assert claims["(b) fitted C_c"].status == "fails"
    assert claims["(b) fitted C_c"].estimate > 0.42
    assert claims["(b) L<lam1>_d independent of N"].status == "fails"
    assert claims["(b) L<lam1>_c grows like log N"].status == "fails"


def test_fig2_claims_with_seeds_intervals_and_baselines():
    """Contrast falling with N and rising with L over 3 realisations per cell: the trend
    claims hold with their interval and a permutation p; alignment and orthogonality are
    measured against their baselines (band fraction, random readout); with one realisation
    per cell no claim gets an interval."""
    rng = np.random.default_rng(1)
    rows = []
    for N in (10, 50, 250):
        for L in (2, 4, 8, 12):
            for s in range(3):
                rows.append(
                    dict(
                        N=N,
                        L=L,
                        seed=s,
                        test_error=0.01,
                        contrast=L * 0.5 - math.log(N) + 0.1 * rng.standard_normal(),
                        alignment=0.9,
                        band_fraction=0.15,
                        orthogonality=0.99 - 0.1 / L,
                        orthogonality_random=0.9,
                        L_lam1_centre=-L * 0.3,
                        L_lam1_ridge=3.0,
                    )
                )
    t = pd.DataFrame(rows)
    pub = published([("fig2", "Llam1_centre", 2, 10, -0.6, 0.2)])
    claims = fig2_claims(t, 0.98, settings=SETTINGS, published=pub)
    by = {c.claim: c for c in claims}
    assert {c.status for c in claims if c.kind != "bookkeeping"} == {"holds"}, {
        k: c.status for k, c in by.items()
    }
    pooled = [c for c in claims if c.claim.startswith("ridge contrast falls with N (slope")][0]
    assert pooled.estimate == pytest.approx(-1.0, abs=0.1) and pooled.p_value < 0.01
    align = [c for c in claims if c.claim.startswith("top 5 %")][0]
    assert align.estimate == pytest.approx(0.75) and align.baseline == pytest.approx(0.15)
    ortho = [c for c in claims if "beyond a random readout (mean" in c.claim][0]
    assert ortho.baseline == pytest.approx(0.9)
    assert [c.kind for c in claims].count("magnitude") == 1
    one = fig2_claims(t[t.seed == 0], 0.98, settings=SETTINGS, published=pub)
    assert {c.status for c in one if c.kind != "bookkeeping"} <= {"point only", "fails"}


def test_accuracy_floor_marking():
    t = mark_accuracy(pd.DataFrame(dict(test_error=[0.0, 0.02, 0.0201, np.nan])), 0.98)
    assert list(t.below_floor) == [False, False, True, True]
    assert t.accuracy.iloc[1] == pytest.approx(0.98)
    with pytest.raises(ValueError, match="min_accuracy"):
        mark_accuracy(t, 1.5)


def test_learning_rate_width_rule():
    assert width_scaled_lr(0.05, 50, 100) == 0.05
    assert width_scaled_lr(0.05, 100, 100) == 0.05
    assert width_scaled_lr(0.05, 512, 100) == pytest.approx(0.05 * 100 / 512)
    assert width_scaled_lr(0.05, 512, None) == 0.05
    with pytest.raises(ValueError, match="lr_width"):
        width_scaled_lr(0.05, 10, 0)


@pytest.mark.parametrize("mode, solver", [("full", None), ("readout", "sgd")])
def test_one_owner_builds_the_training_settings(mode, solver):
    """Full training and an SGD readout at N = 512 both train at lr * 100 / 512 (once, not
    squared), with the config's other settings and a seed from the job's wildcards."""
    settings = dict(
        seed=2024,
        train=TRAIN,
        experiment=dict(sigma_theta=0.0, epochs=3, snapshot_every=2),
        readout=dict(solver=solver or "lstsq", ridge=1e-6),
    )
    net = circle_net(settings, 512, 4, 0.0, 1, mode=mode)
    assert net.train.lr == pytest.approx(0.05 * 100 / 512)
    assert net.train == TrainConfig(
        lr=net.train.lr,
        epochs=3,
        batch_size=64,
        readout_only=(mode == "readout"),
        snapshot_epochs=(0, 2),
    )
    assert net.seed == job_seed(2024, 512, 4, "0", 1)
    assert net.readout_solver == (solver or "lstsq")
    with pytest.raises(ValueError, match="unknown training setting"):
        train_config(dict(TRAIN, lr_widht=3), width=5, epochs=1)


def _merged(base: dict, overlay: dict) -> dict:
    out = dict(base)
    for key, value in overlay.items():
        out[key] = (
            _merged(base[key], value)
            if isinstance(value, dict) and isinstance(base.get(key), dict)
            else value
        )
    return out


@pytest.mark.parametrize("overlay", [None, "config/paper.yaml", "tests/config/test_mnist.yaml"])
def test_mnist_nets_take_their_settings_from_the_one_builder(overlay):
    """The main and the sweep nets of every MNIST config: their TrainConfig holds the config's
    optimiser keys, the absent ones at their defaults (momentum 0: plain SGD / Adam); a
    momentum in the settings is honoured; the layout keys are not optimiser settings."""
    from deepftle.images.nets import NetSpec
    from deepftle.images.protocol import protocol_net

    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    if overlay:
        cfg = _merged(cfg, yaml.safe_load((ROOT / overlay).read_text()))
    mnist = cfg["mnist"]
    for p in (mnist["train"], dict(mnist["train"], **mnist["width_sweep"].get("train", {}))):
        built = NetSpec.from_config(protocol_net(p, seed=1, width=4, epochs=2))
        assert built.train == TrainConfig(
            optimizer=p["optimizer"],
            lr=p["lr"],
            epochs=2,
            batch_size=p["batch_size"],
            schedule=p["schedule"],
            weight_decay=p["weight_decay"],
            eval_every=p.get("eval_every", 1),
        )
        assert built.arch["width"] == 4 and built.arch["depth"] == p["depth"]
        moment = NetSpec.from_config(protocol_net(dict(p, momentum=0.9), seed=1, epochs=1))
        assert moment.train.momentum == 0.9
        with pytest.raises(ValueError, match=r"unknown training setting\(s\) \['activation'"):
            train_config(p, epochs=1)
    with pytest.raises(ValueError, match="give width"):
        train_config(TRAIN, epochs=1)
