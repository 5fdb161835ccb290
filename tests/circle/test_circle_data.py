"""Circle data set and per-job seeds (fast)."""

import math

import torch

from deepftle.circle.data import R0, circle_data, circle_targets
from deepftle.pipeline.seeds import job_seed


def test_circle_data_shapes_balance_and_repeatability():
    d = circle_data(4000, 1000, seed=3)
    assert d["x_train"].shape == (4000, 2) and d["t_test"].shape == (1000,)
    assert d["x_train"].abs().max() <= 1
    assert set(d["t_train"].unique().tolist()) == {-1.0, 1.0}
    inside = float((d["t_train"] < 0).double().mean())
    assert abs(inside - 0.5) < 0.03  # r0 = sqrt(2/pi) halves the square
    assert math.isclose(R0, math.sqrt(2 / math.pi))
    again = circle_data(4000, 1000, seed=3)
    assert all(torch.equal(d[k], again[k]) for k in d)
    assert not torch.equal(d["x_train"], circle_data(4000, 1000, seed=4)["x_train"])


def test_targets_follow_the_circle():
    x = torch.tensor([[0.0, 0.0], [0.9, 0.0], [0.0, -0.79], [0.6, 0.6]])
    assert circle_targets(x).tolist() == [-1.0, 1.0, -1.0, 1.0]


def test_job_seed_is_stable_and_distinct():
    assert job_seed(2024, 5, 8, "0", 0) == job_seed(2024, "5", "8", "0", "0")
    assert job_seed(2024, 5, 8, "0", 0) != job_seed(2024, 5, 8, "0", 1)
    assert 0 <= job_seed("x") < 2**63


def test_net_seeds_have_one_owner():
    """The workflow keeps no copy of job_seed (deepftle.circle.nets.circle_net derives every net's
    seed), and the seed does not depend on whether wildcards arrive as strings or numbers."""
    from pathlib import Path

    rules = Path(__file__).resolve().parents[2] / "workflow/rules"
    text = "".join(p.read_text() for p in rules.glob("*.smk"))
    assert "def job_seed" not in text and "sha256" not in text and "hashlib" not in text
    assert "SEEDS.job_seed" in text  # the rules call the one owner, loaded by path
    assert job_seed(2024, "5", "8", "0", "0") == job_seed(2024, 5, 8, "0", 0)
    assert job_seed(2024, 5, 8, "0", 0) != job_seed(2024, 5, 8, "0", 1)


def test_grouping_predicate_has_one_owner():
    """Nets of width <= population.max_width share a job; the rules ask deepftle.pipeline.seeds
    and keep no comparison of their own."""
    from pathlib import Path

    import pytest

    from deepftle.pipeline.seeds import trains_as_population

    assert trains_as_population(10, 64) and trains_as_population(64, 64)
    assert not trains_as_population(250, 64)
    with pytest.raises(ValueError, match="max_width"):
        trains_as_population(10, -1)
    with pytest.raises(ValueError, match="width"):
        trains_as_population(10.5, 64)
    rules = Path(__file__).resolve().parents[2] / "workflow/rules"
    text = "".join(p.read_text() for p in rules.glob("*.smk"))
    assert '<= config["population"]["max_width"]' not in text
    assert text.count("SEEDS.trains_as_population") == 2
