"""Ridge metrics on synthetic fields with known answers (fast)."""
import math

import numpy as np

from deepftle.circle.data import R0
from deepftle.circle.ridges import boundary_lines, distance_to_lines, ridge_metrics


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
