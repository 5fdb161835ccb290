"""Figure 4 statistics: entropy, equal-count bins, the class box, the summary table; schema."""

from __future__ import annotations

import itertools
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
import yaml

from deepftle.images.statistics import box_table, class_box, entropy, summary_table

ROOT = Path(__file__).resolve().parents[2]


def test_entropy():
    p = np.array([[1.0, 0, 0], [0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3]])
    np.testing.assert_allclose(entropy(p), [0, np.log(2), np.log(3)])


def _brute_box(c, fraction):
    med = np.median(c, axis=0)
    dx, dy = np.abs(c[:, 0] - med[0]), np.abs(c[:, 1] - med[1])
    k = int(np.ceil(fraction * len(c) - 1e-9))
    best = np.inf
    for a, b in itertools.product(dx, dy):
        if np.sum((dx <= a) & (dy <= b)) >= k:
            best = min(best, 4 * a * b)
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_class_box_is_the_smallest_centred_box(seed):
    c = np.random.default_rng(seed).standard_t(3, size=(60, 2)) * [1, 3]
    box = class_box(c, 0.93)
    assert box["inside"] >= np.ceil(0.93 * 60)
    assert box["fraction"] == box["inside"] / 60
    np.testing.assert_allclose(box["area"], _brute_box(c, 0.93))
    med = np.median(c, axis=0)
    np.testing.assert_allclose([(box["x0"] + box["x1"]) / 2, (box["y0"] + box["y1"]) / 2], med)


def test_box_table_and_summary():
    rng = np.random.default_rng(0)
    coords = rng.normal(size=(500, 2)) + np.repeat(np.arange(10), 50)[:, None] * 5
    labels = np.repeat(np.arange(10), 50)
    boxes = box_table(coords, labels, np.ones(500, bool), 0.93)
    assert len(boxes) == 10 and (boxes["fraction"] >= 0.93).all()
    hist = pd.DataFrame(dict(epoch=[0, 1], train_error=[0.9, 0.01], test_error=[0.9, 0.05]))
    lam = rng.normal(size=1000)
    err = (rng.random(1000) < 1 / (1 + np.exp(-3 * lam))).astype(float)
    s = dict(summary_table(hist, lam, err, np.abs(lam), boxes).values)
    assert s["train_accuracy"] == pytest.approx(0.99) and s["test_accuracy"] == pytest.approx(0.95)
    assert s["spearman_lam1_error"] > 0.3 and s["spearman_lam1_H"] > -1
    assert s["error_top_decile"] > s["error_bottom_decile"]
    assert 0.93 <= s["box_fraction_class0"] <= 1 and s["box_area_class9"] > 0


def _schema():
    return yaml.safe_load((ROOT / "workflow/schemas/mnist.schema.yaml").read_text())


def test_default_and_test_configs_validate():
    schema = _schema()
    jsonschema.validate(yaml.safe_load((ROOT / "config.yaml").read_text())["mnist"], schema)
    test_config = yaml.safe_load((ROOT / "tests/config/test_mnist.yaml").read_text())
    jsonschema.validate(test_config["mnist"], schema)


@pytest.mark.parametrize(
    "path, value",
    [
        (("train", "depth"), 0),
        (("tsne", "embed"), "umap"),
        (("fig4", "box_fraction"), 1.5),
        (("adversarial", "method"), "cw"),
        (("ensemble", "size"), 0),
        (("width_sweep", "widths"), [10]),
        (("figS2", "arch"), "vit"),
        (("train", "unknown_key"), 1),
    ],
)
def test_schema_rejects_bad_values(path, value):
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())["mnist"]
    node = cfg
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(cfg, _schema())
