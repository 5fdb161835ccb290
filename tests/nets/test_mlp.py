"""Model conventions, mean-field initialisation and checkpoints."""

import math

import pytest
import torch
from torch import nn

import deepftle
from deepftle.nets.checkpoints import load_model, save_model
from deepftle.nets.init import init_mlp, mean_field_gain, sigma_w_for
from deepftle.nets.mlp import MLP


def test_trunk_is_plain_sequential_and_thresholds_are_minus_bias():
    net = MLP(2, 5, 3)
    assert isinstance(net.trunk, nn.Sequential)
    assert [type(m) for m in net.trunk] == [nn.Linear, nn.Tanh] * 3
    x = torch.randn(4, 2)
    lin = net.trunk[0]
    theta = -lin.bias
    assert torch.allclose(net.trunk[:2](x), torch.tanh(x @ lin.weight.T - theta))
    out = net(x)
    assert out.shape == (4, 1) and (out.abs() <= 1).all()
    logits = MLP(784, 20, 2, d_out=10, output="softmax")(torch.randn(3, 784))
    assert logits.shape == (3, 10)


@pytest.mark.parametrize(
    "bad", [dict(width=0), dict(depth=-1), dict(activation="swish"), dict(output="sigmoid")]
)
def test_bad_architecture(bad):
    kwargs = dict(d_in=2, width=5, depth=2) | bad
    with pytest.raises(ValueError, match=next(iter(bad))):
        MLP(**kwargs)


def test_default_init_is_fan_in():
    net = MLP(400, 300, 2)
    init_mlp(net, torch.Generator().manual_seed(0))
    w1, w2 = net.trunk[0].weight, net.trunk[2].weight
    assert abs(w1.var().item() * 400 - 1) < 0.02
    assert abs(w2.var().item() * 300 - 1) < 0.02
    assert torch.all(net.trunk[0].bias == 0)


def test_mean_field_gain_ordered_and_chaotic():
    # ordered phase, tanh, no thresholds: q* = 0, G = g'(0)^2 = 1
    q, gain = mean_field_gain(0.8)
    assert q < 1e-6 and abs(gain - 1) < 1e-6
    q, gain = mean_field_gain(1.5)
    assert q > 0.1 and gain < 1
    # chi_1 = a G: for a > 1 it is still > 1 (chaotic), between 1 and a
    assert 1 < 1.5 * gain < 1.5


@pytest.mark.parametrize("s", [-0.2, 0.0, 0.2])
def test_sigma_w_solves_log_g_n_sigma2(s):
    width = 50
    sigma_w = sigma_w_for(s, width)
    _, gain = mean_field_gain(width * sigma_w**2)
    assert abs(math.log(gain * width * sigma_w**2) - s) < 1e-8


def test_deep_random_net_lambda_approaches_half_s():
    """Median lambda_1 of deep random tanh nets tends to s/2 = 1/2 log(G N sigma_w^2);
    finite L and N shift it by O(1/L) (first layer, maximum over directions) and O(1/N)."""
    for s in (-0.2, 0.0, 0.2):
        net = MLP(2, 50, 64)
        init_mlp(net, torch.Generator().manual_seed(1), s=s)
        lam = deepftle.ftle(net.trunk.double(), torch.rand(300, 2, dtype=torch.float64) * 2 - 1)
        assert abs(lam.median().item() - s / 2) < 0.03, s


def test_checkpoint_round_trip_and_wrong_architecture(tmp_path):
    net = MLP(2, 7, 3)
    init_mlp(net, torch.Generator().manual_seed(0), sigma_theta=1.0)
    path = tmp_path / "net.pt"
    save_model(path, net, provenance={"config_hash": "x"}, epoch=3)
    back = load_model(path, expected={"width": 7, "depth": 3})
    x = torch.randn(5, 2)
    assert torch.equal(back(x), net(x))
    with pytest.raises(ValueError, match="width: expected 8, checkpoint has 7"):
        load_model(path, expected={"width": 8})
    with pytest.raises(ValueError, match="activation"):
        load_model(path, expected={"activation": "relu"})
    assert not list(tmp_path.glob(".*tmp"))


def test_mnist_stages_check_the_trained_architecture(tmp_path):
    from deepftle.images.protocol import mlp_architecture as net_architecture

    train = {"width": 6, "depth": 3, "activation": "tanh"}
    path = tmp_path / "net.pt"
    save_model(path, MLP(**net_architecture(train)))
    back = load_model(path, expected=net_architecture(train))
    assert back.arch["d_in"] == 784 and back.arch["d_out"] == 10
    with pytest.raises(ValueError, match="depth: expected 4, checkpoint has 3"):
        load_model(path, expected=net_architecture(dict(train, depth=4)))
