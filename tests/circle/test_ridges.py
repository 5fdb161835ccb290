"""Ridge metrics and their baselines on synthetic fields with known answers (fast)."""

import math

import numpy as np
import pytest

from deepftle.circle.data import R0
from deepftle.circle.ridges import (
    boundary_lines,
    distance_to_lines,
    random_readout_cos,
    ridge_metrics,
)


def _grid(n=121):
    ax = np.linspace(-1, 1, n)
    X1, X2 = np.meshgrid(ax, ax)
    return ax, np.hypot(X1, X2)


def test_ridge_on_the_boundary_has_contrast_and_alignment():
    ax, r = _grid()
    out = r - R0  # boundary: the circle
    field = 3.0 * np.exp(-(((r - R0) / 0.03) ** 2)) - 1.0
    m = ridge_metrics(ax, ax, field, out, delta=0.05, top=0.05)
    assert m["contrast"] > 1.5
    assert m["alignment"] == 1.0
    assert m["circle_distance"] < 0.02
    assert math.isclose(m["boundary_length"], 2 * math.pi * R0, rel_tol=0.01)
    assert m["n_masked"] == 0


def test_ridge_away_from_the_boundary_and_masking():
    ax, r = _grid()
    out = r - R0
    field = np.exp(-(((r - 0.3) / 0.03) ** 2))  # ridge on a smaller circle
    field[0, :5] = -np.inf
    m = ridge_metrics(ax, ax, field, out, delta=0.05)
    assert m["alignment"] == 0.0 and m["contrast"] < 0.1
    assert m["n_masked"] == 5 and math.isfinite(m["mean_L_lam1"])
    assert abs(m["circle_distance"] - (R0 - 0.3)) < 0.03


def test_no_boundary_gives_nan():
    ax, r = _grid(41)
    m = ridge_metrics(ax, ax, r, np.ones_like(r))
    assert math.isnan(m["contrast"]) and math.isnan(m["alignment"])


def test_distance_to_a_straight_boundary():
    ax = np.linspace(-1, 1, 51)
    X1, _ = np.meshgrid(ax, ax)
    lines = boundary_lines(ax, ax, X1 - 0.1)
    pts = np.array([[0.1, 0.0], [0.6, 0.3], [-0.4, -0.9]])
    np.testing.assert_allclose(distance_to_lines(pts, lines), [0.0, 0.5, 0.5], atol=2e-3)


def test_random_readout_baseline_against_monte_carlo():
    """E|cos(v1, J^T u)| for a random readout u: 1 at sigma_2 = 0, 2/pi at sigma_2 = sigma_1,
    and a sampled value in between (u uniform on the sphere of a 20-dimensional output)."""
    assert random_readout_cos(0.0) == pytest.approx(1.0, abs=1e-12)
    assert random_readout_cos(1.0) == pytest.approx(2 / math.pi, abs=1e-12)
    rng = np.random.default_rng(0)
    u = rng.normal(size=(200_000, 20))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    for r in (0.1, 0.5):
        a, b = u[:, 0], u[:, 1]
        mc = np.mean(np.abs(a) / np.sqrt(a * a + (r * b) ** 2))
        assert random_readout_cos(r) == pytest.approx(mc, abs=3e-3)


def test_baselines_centre_and_ridge_levels():
    """The alignment's baseline is the band's area fraction; orthogonality is measured beside
    its random-readout value; the centre and ridge levels are read where the published ones
    are (origin; maximum along +x1)."""
    ax, r = _grid()
    X1, X2 = np.meshgrid(ax, ax)
    out = r - R0
    field = 3.0 * np.exp(-(((r - R0) / 0.03) ** 2)) - 1.0
    radial = np.stack([X1, X2], -1) / np.maximum(r, 1e-12)[..., None]
    m = ridge_metrics(ax, ax, field, out, delta=0.05, v1=radial, L_lam2=field - 2.0)
    ring = 2 * math.pi * R0 * 4 * 0.05 / 4  # area of the 2 delta band over the square's area
    assert m["band_fraction"] == pytest.approx(ring, rel=0.05)
    assert m["orthogonality"] > 0.99
    assert m["orthogonality_random"] == pytest.approx(random_readout_cos(math.exp(-2.0)), rel=1e-6)
    assert m["L_lam1_centre"] == pytest.approx(-1.0, abs=1e-6)
    assert m["L_lam1_ridge"] == pytest.approx(2.0, abs=0.1)
