"""Circle-problem stages on tiny data: repeatability, readout, field, config schema (fast)."""

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from deepftle.circle.data import circle_data
from deepftle.circle.fields import field_on_grid, snapshot_lam1
from deepftle.circle.nets import circle_net, train_circle

REPO = Path(__file__).resolve().parents[2]
TRAIN = dict(
    optimizer="sgd", lr=0.05, batch_size=64, schedule="constant", momentum=0.0, weight_decay=0.0
)


def _net(width, depth, sigma_theta, seed, mode="full", epochs=2, readout=None, every=None):
    exp = dict(sigma_theta=sigma_theta, epochs=epochs)
    if every:
        exp["snapshot_every"] = every
    return circle_net(
        dict(seed=seed, train=TRAIN, experiment=exp, readout=readout),
        width,
        depth,
        0.0,
        0,
        mode=mode,
    )


@pytest.fixture(scope="module")
def data():
    return circle_data(800, 200, seed=0)


def test_full_training_is_bitwise_repeatable_with_snapshots(data):
    runs = [train_circle(_net(8, 3, 0.0, 11, every=1), data, progress=False) for _ in range(2)]
    (m1, h1, s1, sw1), (m2, h2, s2, _) = runs
    assert all(
        torch.equal(a, b)
        for a, b in zip(m1.state_dict().values(), m2.state_dict().values(), strict=True)
    )
    assert h1.equals(h2) and list(h1.epoch) == [0, 1, 2] and sorted(s1) == [0, 1, 2]
    assert h1.test_error.between(0, 1).all() and sw1 == pytest.approx(1 / np.sqrt(8))
    epochs, lam1 = snapshot_lam1(m1, s1, data["x_test"][:50])
    assert list(epochs) == [0, 1, 2] and lam1.shape == (3, 50) and np.isfinite(lam1).all()


@pytest.mark.parametrize("solver", ["lstsq", "sgd"])
def test_readout_keeps_the_hidden_layers(data, solver):
    readout = dict(solver=solver, ridge=1e-6)
    model, hist, _, _ = train_circle(
        _net(64, 2, 1.0, 5, "readout", epochs=5, readout=readout), data, progress=False
    )
    ref, _, _, _ = train_circle(_net(64, 2, 1.0, 5, epochs=0), data, progress=False)
    for a, b in zip(
        model.trunk.state_dict().values(), ref.trunk.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b)
    assert hist.loss.iloc[-1] < hist.loss.iloc[0]
    if solver == "lstsq":  # the convex optimum of the readout: random features separate well
        assert hist.test_error.iloc[-1] < 0.2


def test_field_on_grid_shapes(data):
    model, _, _, _ = train_circle(_net(5, 2, 0.0, 1, epochs=0), data, progress=False)
    f = field_on_grid(model, n=11)
    assert f["lam1"].shape == f["output"].shape == (11, 11) and f["v1"].shape == (11, 11, 2)
    assert (f["lam1"] >= f["lam2"]).all() and np.isfinite(f["lam1"]).all()
    np.testing.assert_allclose(np.linalg.norm(f["v1"], axis=-1), 1, atol=1e-5)
    assert f["x1"][0] == -1 and f["x1"][-1] == 1


def test_circle_schema_accepts_defaults_and_rejects_bad_values():
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    schema = str(REPO / "workflow/schemas/circle.schema.yaml")
    for cfg in ("config.yaml", "tests/config/test.yaml"):
        validate(yaml.safe_load((REPO / cfg).read_text())["circle"], schema)
    circle = yaml.safe_load((REPO / "config.yaml").read_text())["circle"]
    for path, value in (
        (("train", "optimizer"), "rmsprop"),
        (("fig2", "widths"), [0]),
        (("field", "grid"), 2),
        (("fig2", "colour"), "red"),
    ):
        bad = yaml.safe_load(yaml.safe_dump(circle))
        bad[path[0]][path[1]] = value
        with pytest.raises(WorkflowError):
            validate(bad, schema)


def test_redraws_replace_realisations_below_the_training_floor(data):
    """A realisation below its floor on the training data is initialised afresh from
    redraw_seed, at most `redraws` times; one that reaches it keeps its first draw."""
    import dataclasses

    from deepftle.circle.nets import make_net, redraw_seed, train_circle_nets

    exp = dict(sigma_theta=0.0, epochs=0, min_accuracy=1.0, redraws=2)
    net = circle_net(dict(seed=5, train=TRAIN, experiment=exp), 6, 2, 0.0, 0)
    assert (net.floor, net.redraws) == (1.0, 2)
    ((model, history, _, _),) = train_circle_nets(
        [net], data, progress=False
    )  # never reaches 100 %
    assert set(history.draw) == {2} and set(history.init_seed) == {redraw_seed(net.seed, 2)}
    fresh, _ = make_net(6, 2, s=0.0, sigma_theta=0.0, seed=redraw_seed(net.seed, 2))
    assert all(
        torch.equal(a, b)
        for a, b in zip(model.state_dict().values(), fresh.state_dict().values(), strict=True)
    )
    easy = dataclasses.replace(net, floor=1e-9)
    ((_, history, _, _),) = train_circle_nets([easy], data, progress=False)
    assert set(history.draw) == {0} and set(history.init_seed) == {net.seed}
    assert len({redraw_seed(net.seed, d) for d in range(3)}) == 3
    with pytest.raises(ValueError, match="redraws"):
        dataclasses.replace(net, floor=0.0)


def test_first_layer_fan_in_scales_only_the_first_layer():
    from deepftle.circle.nets import make_net

    (a, sw) = make_net(50, 3, s=0.0, sigma_theta=0.0, seed=7)
    (b, _) = make_net(50, 3, s=0.0, sigma_theta=0.0, seed=7, first_layer="fan_in")
    wa, wb = a.hidden_linears(), b.hidden_linears()
    torch.testing.assert_close(wb[0].weight, wa[0].weight / sw / np.sqrt(2))
    assert all(torch.equal(x.weight, y.weight) for x, y in zip(wa[1:], wb[1:], strict=True))
    with pytest.raises(ValueError, match="first_layer"):
        make_net(50, 3, s=0.0, sigma_theta=0.0, seed=7, first_layer="fanin")


@pytest.mark.parametrize("population", [False, True])
def test_eval_every_thins_the_history_not_the_training(data, population):
    """eval_every = 3 over 7 epochs: history rows after epochs 0, 3, 6, 7; the weights and the
    snapshots are bitwise those of evaluating after every epoch."""
    import copy

    from deepftle.circle.nets import make_net
    from deepftle.nets.population import train_population
    from deepftle.nets.train import TrainConfig, energy_loss, sign_error, train

    tr, te = (data["x_train"], data["t_train"]), (data["x_test"], data["t_test"])
    runs = []
    for every in (1, 3):
        model, _ = make_net(6, 3, s=0.0, sigma_theta=0.0, seed=4)
        cfg = TrainConfig(epochs=7, eval_every=every, snapshot_epochs=(0, 5, 7))
        gen = torch.Generator().manual_seed(9)
        if population:
            ((history, snaps),) = train_population(
                [model], tr, te, cfg, energy_loss, sign_error, [gen], progress=False
            )
        else:
            history, snaps = train(model, tr, te, cfg, energy_loss, sign_error, gen, progress=False)
        runs.append((copy.deepcopy(model.state_dict()), history, snaps))
    (w1, h1, s1), (w3, h3, s3) = runs
    assert list(h1.epoch) == list(range(8)) and list(h3.epoch) == [0, 3, 6, 7]
    assert all(torch.equal(w1[k], w3[k]) for k in w1)
    assert sorted(s3) == [0, 5, 7] and all(torch.equal(s1[5][k], s3[5][k]) for k in s1[5])
    assert h3.set_index("epoch").equals(h1.set_index("epoch").loc[[0, 3, 6, 7]])
    with pytest.raises(ValueError, match="eval_every"):
        TrainConfig(eval_every=0)
