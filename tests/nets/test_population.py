"""Population training (deepftle.nets.population) against training each member alone.

Tolerances: a population runs the same arithmetic as the solo loop, but its matrix products
are batched (``baddbmm``) where the solo net's are single (``addmm``), its reductions may sum in
another order, and its Adam is the fused kernel (same formula, one pass). So every member
differs from its solo run by rounding only, carried along by the training dynamics. Measured
for these tests (3 epochs): float64 max |weight diff| 2.3e-16 (MNIST-shaped) and 2.2e-15
(circle), asserted < 1e-11; float32 7.3e-8 and 1.7e-6, asserted < 1e-4 absolute on O(1) weights and
losses: far above the drift, far below what training moves (> 1e-2 here). A chaotic member
(s = 1, lr 0.1) amplifies rounding ~30x per epoch (float64 5e-12, float32 2e-3 after 3 epochs):
that is the training's own sensitivity, the same between two solo runs, so the tests use the
protocol's lr = 0.05.
"""

import copy

import pytest
import torch

from deepftle.circle.nets import circle_layout, circle_net, train_circle, train_circle_nets
from deepftle.nets.init import init_mlp
from deepftle.nets.mlp import MLP
from deepftle.nets.population import train_population
from deepftle.nets.train import (
    TrainConfig,
    TrainingDiverged,
    class_error,
    cross_entropy_loss,
    energy_loss,
    sign_error,
    train,
)

TOL = {torch.float64: 1e-11, torch.float32: 1e-4}


def circle_data(n, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, 2, generator=g) * 2 - 1).to(dtype)
    t = torch.where(x.norm(dim=1) < 0.6, 1.0, -1.0).to(dtype)
    return x, t


def circle_nets(dtype, seeds=(1, 2, 3)):
    nets = []
    for i, seed in enumerate(seeds):
        net = MLP(2, 10, 4)
        init_mlp(net, torch.Generator().manual_seed(seed), s=0.5 * i, sigma_theta=0.1)
        nets.append(net.to(dtype))
    return nets


def mnist_nets(dtype, seeds=(4, 5, 6)):
    nets = []
    for seed in seeds:
        net = MLP(784, 20, 4, d_out=10, output="softmax")
        init_mlp(net, torch.Generator().manual_seed(seed))
        nets.append(net.to(dtype))
    return nets


def mnist_like(n, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 784, generator=g).to(dtype), torch.randint(0, 10, (n,), generator=g)


def solo_and_population(nets, tr, te, cfg, loss_fn, error_fn, seeds):
    solo_nets = copy.deepcopy(nets)
    solo = [
        train(net, tr, te, cfg, loss_fn, error_fn, torch.Generator().manual_seed(s), progress=False)
        for net, s in zip(solo_nets, seeds, strict=True)
    ]
    pop = train_population(
        nets,
        tr,
        te,
        cfg,
        loss_fn,
        error_fn,
        [torch.Generator().manual_seed(s) for s in seeds],
        progress=False,
    )
    return solo_nets, solo, pop


def max_diffs(solo_nets, solo, pop_nets, pop, n_train, n_test):
    """(max |weight diff| over members and tensors, max |diff| of the history's loss columns).

    The error columns count misclassified points: an input whose output sits within rounding
    of the decision boundary may flip, so they may differ by one point of train or test set
    (float32), and must agree exactly in float64."""
    w = max(
        float((a - b).abs().max())
        for sn, pn in zip(solo_nets, pop_nets, strict=True)
        for a, b in zip(sn.state_dict().values(), pn.state_dict().values(), strict=True)
    )
    h = 0.0
    for (hs, _), (hp, _) in zip(solo, pop, strict=True):
        assert list(hp.columns) == list(hs.columns) and list(hp.epoch) == list(hs.epoch)
        assert (hp.lr == hs.lr).all()
        h = max(h, float((hs[["loss", "test_loss"]] - hp[["loss", "test_loss"]]).abs().max().max()))
        exact = next(iter(pop_nets[0].parameters())).dtype == torch.float64
        for col, n in (("train_error", n_train), ("test_error", n_test)):
            assert float((hs[col] - hp[col]).abs().max()) <= (1e-12 if exact else 1.01 / n), col
    return w, h


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_circle_sgd_members_equal_solo_runs(dtype):
    tr, te = circle_data(300, dtype), circle_data(200, dtype, seed=1)
    cfg = TrainConfig(
        optimizer="sgd",
        lr=0.05,
        epochs=3,
        batch_size=32,
        momentum=0.5,
        weight_decay=1e-3,
        snapshot_epochs=(0, 2),
    )
    nets = circle_nets(dtype)
    solo_nets, solo, pop = solo_and_population(
        nets, tr, te, cfg, energy_loss, sign_error, (11, 12, 13)
    )
    w, h = max_diffs(solo_nets, solo, nets, pop, 300, 200)
    assert w < TOL[dtype] and h < TOL[dtype], (w, h)
    # training moved the weights far more than the tolerance: the comparison has teeth
    moved = float(
        (solo_nets[0].head.weight - circle_nets(dtype)[0].head.weight).detach().abs().max()
    )
    assert moved > 100 * TOL[dtype]
    for (_hs, ss), (hp, sp) in zip(solo, pop, strict=True):
        assert list(hp.epoch) == [0, 1, 2, 3]
        assert sorted(sp) == sorted(ss) == [0, 2]
        for e in ss:
            assert list(sp[e]) == list(ss[e])
            for k in ss[e]:
                assert sp[e][k].shape == ss[e][k].shape
                assert float((sp[e][k] - ss[e][k]).abs().max()) < TOL[dtype]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_mnist_shaped_adam_cosine_members_equal_solo_runs(dtype):
    tr, te = mnist_like(256, dtype), mnist_like(100, dtype, seed=1)
    cfg = TrainConfig(
        optimizer="adam", lr=2e-3, epochs=3, batch_size=64, schedule="cosine", weight_decay=1e-4
    )
    nets = mnist_nets(dtype)
    solo_nets, solo, pop = solo_and_population(
        nets, tr, te, cfg, cross_entropy_loss, class_error, (7, 8, 9)
    )
    w, h = max_diffs(solo_nets, solo, nets, pop, 256, 100)
    assert w < TOL[dtype] and h < TOL[dtype], (w, h)
    assert pop[0][0].lr.iloc[-1] == pytest.approx(0.0, abs=1e-12)  # cosine reached its end
    assert pop[0][0].loss.iloc[-1] < pop[0][0].loss.iloc[0]  # it learned


def test_readout_only_and_generic_loss_match_solo():
    dtype = torch.float64
    tr, te = circle_data(200, dtype), circle_data(100, dtype, seed=1)
    cfg = TrainConfig(optimizer="sgd", lr=0.2, epochs=2, batch_size=50, readout_only=True)

    def custom_loss(out, t):  # not one of deepftle.nets.train's: batched by torch.vmap
        return (out.reshape(t.shape) - t).abs().mean()

    nets = circle_nets(dtype)
    trunk0 = [p.clone() for p in nets[0].trunk.parameters()]
    solo_nets, solo, pop = solo_and_population(
        nets, tr, te, cfg, custom_loss, sign_error, (1, 2, 3)
    )
    w, h = max_diffs(solo_nets, solo, nets, pop, 200, 100)
    assert w < TOL[dtype] and h < TOL[dtype], (w, h)
    assert all(torch.equal(a, b) for a, b in zip(trunk0, nets[0].trunk.parameters(), strict=True))
    assert not any(p.requires_grad for p in nets[0].trunk.parameters())
    assert all(p.requires_grad for p in nets[0].head.parameters())


def test_diverged_member_is_named_and_others_unaffected():
    dtype = torch.float64
    tr, te = circle_data(100, dtype), circle_data(50, dtype, seed=1)
    cfg = TrainConfig(optimizer="sgd", lr=0.1, epochs=2, batch_size=25)
    nets = circle_nets(dtype)
    with torch.no_grad():
        nets[1].head.weight[0, 0] = float("nan")
    with pytest.raises(
        TrainingDiverged, match=r"member 1 of 3: training diverged at epoch 0"
    ) as info:
        train_population(
            copy.deepcopy(nets),
            tr,
            te,
            cfg,
            energy_loss,
            sign_error,
            [torch.Generator().manual_seed(s) for s in (1, 2, 3)],
            progress=False,
        )
    assert info.value.members == [1]
    solo_nets, solo, _ = solo_and_population(
        copy.deepcopy(nets[::2]), tr, te, cfg, energy_loss, sign_error, (1, 3)
    )
    pop = train_population(
        nets,
        tr,
        te,
        cfg,
        energy_loss,
        sign_error,
        [torch.Generator().manual_seed(s) for s in (1, 2, 3)],
        progress=False,
        on_diverge="continue",
    )
    assert isinstance(pop[1], TrainingDiverged) and "member 1" in str(pop[1])
    w, h = max_diffs(solo_nets, solo, nets[::2], pop[::2], 100, 50)
    assert w < TOL[dtype] and h < TOL[dtype], (w, h)


def test_minibatch_divergence_names_the_member_and_epoch():
    # member 2's huge head weights (2e31) give hidden-layer gradients ~1e30: one step of
    # lr 1e10 overflows its hidden weights to inf, and its next minibatch loss is NaN. The
    # other members' gradients are O(1): they stay finite, as they do when trained alone.
    dtype = torch.float32
    tr, te = mnist_like(128, dtype), mnist_like(64, dtype, seed=1)
    cfg = TrainConfig(optimizer="sgd", lr=1e10, epochs=2, batch_size=64)
    nets = mnist_nets(dtype)
    with torch.no_grad():
        nets[2].head.weight.mul_(1e32)
    gens = lambda: [torch.Generator().manual_seed(s) for s in (1, 2, 3)]  # noqa: E731
    solo = []
    for net, gen in zip(copy.deepcopy(nets), gens(), strict=True):
        try:
            train(net, tr, te, cfg, cross_entropy_loss, class_error, gen, progress=False)
            solo.append(None)
        except TrainingDiverged as err:
            solo.append(str(err))
    assert solo[:2] == [None, None] and "minibatch loss nan" in solo[2]
    with pytest.raises(TrainingDiverged) as info:
        train_population(
            copy.deepcopy(nets),
            tr,
            te,
            cfg,
            cross_entropy_loss,
            class_error,
            gens(),
            progress=False,
        )
    assert info.value.members == [2]
    assert str(info.value) == f"population training: member 2 of 3: {solo[2]}"
    pop = train_population(
        nets,
        tr,
        te,
        cfg,
        cross_entropy_loss,
        class_error,
        gens(),
        progress=False,
        on_diverge="continue",
    )
    assert [type(r) for r in pop] == [tuple, tuple, TrainingDiverged]
    assert str(pop[2]) == f"member 2 of 3: {solo[2]}"
    assert len(pop[0][0]) == 3  # the others trained every epoch


def test_bad_populations_are_refused():
    tr, te = circle_data(50, torch.float32), circle_data(50, torch.float32, seed=1)
    cfg = TrainConfig(epochs=1)
    gens = [torch.Generator().manual_seed(s) for s in (1, 2)]
    with pytest.raises(ValueError, match="one layout"):
        train_population(
            [MLP(2, 10, 4), MLP(2, 12, 4)],
            tr,
            te,
            cfg,
            energy_loss,
            sign_error,
            gens,
            progress=False,
        )
    with pytest.raises(ValueError, match="one generator per model"):
        train_population(
            [MLP(2, 10, 4)] * 1, tr, te, cfg, energy_loss, sign_error, gens, progress=False
        )
    with pytest.raises(ValueError, match="same generator"):
        train_population(
            [MLP(2, 10, 4), MLP(2, 10, 4)],
            tr,
            te,
            cfg,
            energy_loss,
            sign_error,
            [gens[0], gens[0]],
            progress=False,
        )
    net = MLP(2, 10, 4)
    with pytest.raises(ValueError, match="same model"):
        train_population([net, net], tr, te, cfg, energy_loss, sign_error, gens, progress=False)
    with pytest.raises(ValueError, match="at least one"):
        train_population([], tr, te, cfg, energy_loss, sign_error, [], progress=False)
    with pytest.raises(ValueError, match="on_diverge"):
        train_population(
            [MLP(2, 10, 4)],
            tr,
            te,
            cfg,
            energy_loss,
            sign_error,
            gens[:1],
            progress=False,
            on_diverge="ignore",
        )


def _circle_settings(epochs=2, every=None):
    exp = dict(sigma_theta=0.0, epochs=epochs)
    if every:
        exp["snapshot_every"] = every
    return dict(
        seed=7,
        train=dict(optimizer="sgd", lr=0.05, batch_size=20, schedule="constant"),
        experiment=exp,
        readout=dict(solver="lstsq", ridge=1e-6),
    )


def test_circle_recipe_reproduces_train_circle():
    x, t = circle_data(200, torch.float32)
    xt, tt = circle_data(100, torch.float32, seed=1)
    data = dict(x_train=x, t_train=t, x_test=xt, t_test=tt)
    settings = _circle_settings(every=1)
    nets = [circle_net(settings, 10, 3, s, seed) for s, seed in ((0.0, 0), (0.2, 1), (0.0, 2))]
    assert len({circle_layout(n) for n in nets}) == 1
    pop = train_circle_nets(nets, data, progress=False)
    for (model, hist, snaps, sigma_w), net in zip(pop, nets, strict=True):
        ref_model, ref_hist, ref_snaps, ref_sigma = train_circle(net, data, progress=False)
        assert sigma_w == ref_sigma
        assert float((hist.loss - ref_hist.loss).abs().max()) < TOL[torch.float32]
        for a, b in zip(model.state_dict().values(), ref_model.state_dict().values(), strict=True):
            assert float((a - b).abs().max()) < TOL[torch.float32]
        assert sorted(snaps) == sorted(ref_snaps) == [0, 1, 2]
    readout = [circle_net(settings, 10, 3, 0.0, seed, mode="readout") for seed in (0, 1)]
    got = train_circle_nets(readout, data, progress=False)
    assert (
        got[1][1]
        .drop(columns=["draw", "init_seed"])
        .equals(train_circle(readout[1], data, progress=False)[1])
    )
    assert set(got[1][1].draw) == {0} and set(got[1][1].init_seed) == {readout[1].seed}
    other = circle_net(settings, 12, 3, 0.0, 0)
    assert circle_layout(other) != circle_layout(nets[0])
    with pytest.raises(ValueError, match="one layout"):
        train_circle_nets(nets + [other], data, progress=False)
    with pytest.raises(ValueError, match="at least one"):
        train_circle_nets([], data, progress=False)


class _TinyMnist:
    """The DataSet interface over random arrays (inputs already standardised)."""

    def __init__(self):
        self.data = {
            "train": mnist_like(96, torch.float32),
            "test": mnist_like(40, torch.float32, seed=1),
        }

    def inputs(self, split, device="cpu"):
        return self.data[split][0].to(device)

    def labels(self, split, device="cpu"):
        return self.data[split][1].to(device)


def test_image_nets_as_a_population_reproduce_the_training_loop():
    from deepftle.images.nets import NetSpec, train_net, train_nets
    from deepftle.images.protocol import protocol_net

    p = dict(
        width=12,
        depth=2,
        activation="tanh",
        optimizer="adam",
        lr=1e-3,
        epochs=2,
        batch_size=32,
        schedule="cosine",
        weight_decay=0.0,
    )
    data = _TinyMnist()
    specs = [NetSpec.from_config(protocol_net(p, seed=s, epochs=2)) for s in (3, 4)]
    group = train_nets(data, specs, "cpu", progress=False)
    for spec, (model, hist) in zip(specs, group, strict=True):
        ref, ref_hist = train_net(data, spec, "cpu", progress=False)
        assert float((hist.loss - ref_hist.loss).abs().max()) < TOL[torch.float32]
        for a, b in zip(model.state_dict().values(), ref.state_dict().values(), strict=True):
            assert float((a - b).abs().max()) < TOL[torch.float32]
    other = NetSpec.from_config(protocol_net(p, seed=4, epochs=1))
    with pytest.raises(ValueError, match="one layout and training configuration"):
        train_nets(data, [specs[0], other], "cpu", progress=False)


def test_snapshots_are_contiguous_copies():
    tr, te = circle_data(64, torch.float32), circle_data(32, torch.float32, seed=1)
    cfg = TrainConfig(epochs=2, batch_size=16, snapshot_epochs=(1, 2))
    nets = circle_nets(torch.float32, seeds=(1, 2))
    (_, snaps), _ = train_population(
        nets,
        tr,
        te,
        cfg,
        energy_loss,
        sign_error,
        [torch.Generator().manual_seed(s) for s in (1, 2)],
        progress=False,
    )
    assert not torch.equal(snaps[1]["head.weight"], snaps[2]["head.weight"])
    assert torch.equal(snaps[2]["head.weight"], nets[0].head.weight.detach())
    for state in snaps.values():
        assert list(state) == list(nets[0].state_dict())
        assert all(t.is_contiguous() for t in state.values())


def test_docs_population_example_runs(capsys):
    import re
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "performance.md").read_text()
    section = page.split("## Population training", 1)[1]
    block = re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)
    exec(compile(block, "docs/performance.md", "exec"), {})
    errors = eval(capsys.readouterr().out)
    assert len(errors) == 4 and all(0 <= e <= 1 for e in errors)


@pytest.mark.parametrize("activation", ["relu", "erf", "softplus"])
def test_other_activations_match_solo(activation):
    dtype = torch.float64
    tr, te = circle_data(128, dtype), circle_data(64, dtype, seed=1)
    cfg = TrainConfig(optimizer="adam", lr=1e-2, epochs=2, batch_size=32)
    nets = []
    for seed in (1, 2):
        net = MLP(2, 8, 3, activation=activation)
        init_mlp(net, torch.Generator().manual_seed(seed))
        nets.append(net.to(dtype))
    solo_nets, solo, pop = solo_and_population(nets, tr, te, cfg, energy_loss, sign_error, (3, 4))
    w, h = max_diffs(solo_nets, solo, nets, pop, 128, 64)
    assert w < TOL[dtype] and h < TOL[dtype], (w, h)


@pytest.mark.parametrize("case", ["energy_tanh_head", "cross_entropy", "readout_only"])
def test_hand_written_backward_equals_autograd(case):
    """_Stack.backward (the tanh nets' hand-written gradient) against autograd of the same
    stacked forward, float64, every layer and member: equal to rounding (1e-12)."""
    from deepftle.nets.population import _BATCHED, _OUTPUT_GRAD, _Stack

    torch.manual_seed(0)
    if case == "cross_entropy":
        nets, loss_fn = mnist_nets(torch.float64), cross_entropy_loss
        x, y = mnist_like(3 * 16, torch.float64)
        y = y.view(3, 16)
    else:
        nets, loss_fn = circle_nets(torch.float64), energy_loss
        x, y = circle_data(3 * 16, torch.float64)
        y = y.view(3, 16)
    x = x.view(3, 16, -1)
    readout = case == "readout_only"
    auto, hand = (
        _Stack(copy.deepcopy(nets), readout_only=readout),
        _Stack(copy.deepcopy(nets), readout_only=readout),
    )
    auto.zero_grad()
    _BATCHED[loss_fn](auto.forward(x), y).sum().backward()
    out = hand.forward_cached(x)
    delta = _OUTPUT_GRAD[loss_fn](out, y)
    hand.backward(delta * (1 - out.square()) if hand.tanh_head else delta)
    assert torch.equal(hand.flat.detach(), auto.flat.detach())
    scale = auto.flat.grad.abs().max()
    assert scale > 1e-3
    torch.testing.assert_close(hand.flat.grad, auto.flat.grad, rtol=0, atol=1e-12 * scale)
    if readout:  # only the heads train: the flat buffer holds their weights and thresholds
        assert hand.flat.numel() == 3 * (nets[0].head.weight.numel() + 1)
