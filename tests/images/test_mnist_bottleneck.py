"""The bottleneck map of Fig. 4(a): local fields of a 2-neuron layer added before the softmax
layer, only it and the output layer retrained, the trained trunk unchanged bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import deepftle
from deepftle.images.bottleneck import (
    fit_bottleneck,
    load_bottleneck,
    local_fields,
    save_bottleneck,
)


def _net_and_data():
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(10, 16, generator=g) * 2
    y = torch.arange(300) % 10
    x = centres[y] + 0.1 * torch.randn(300, 16, generator=g)
    net = deepftle.MLP(d_in=16, width=8, depth=3, d_out=10, output="softmax")
    deepftle.init_mlp(net, torch.Generator().manual_seed(1))
    return net.eval(), x, y


def test_trunk_frozen_bit_for_bit_and_coordinates_are_local_fields(tmp_path):
    net, x, y = _net_and_data()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    bnet, history = fit_bottleneck(
        net, x, y, epochs=30, lr=0.05, batch_size=32, seed=0, progress=False
    )
    # the original net and the bottleneck net's trunk: unchanged, bit for bit
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k]), k
    for k, v in bnet.trunk.state_dict().items():
        assert torch.equal(v, before["trunk." + k]), k
    assert all(not p.requires_grad for p in bnet.trunk.parameters())
    # coordinates = local fields W_b x^(L) + bias (not tanh of them): not bounded by 1
    b = local_fields(bnet, x)
    with torch.no_grad():
        expected = (net.trunk(x) @ bnet.bottleneck.weight.T + bnet.bottleneck.bias).double()
    np.testing.assert_allclose(b, expected.numpy(), rtol=1e-6, atol=1e-6)
    assert b.shape == (300, 2)
    # the bottleneck learned something: better than chance (10 %)
    assert history["train_accuracy"].iloc[-1] > 0.5
    assert len(history) == 30
    save_bottleneck(tmp_path / "b.pt", bnet, net.arch)
    again = load_bottleneck(tmp_path / "b.pt")
    np.testing.assert_array_equal(local_fields(again, x), b)


def test_bottleneck_is_repeatable_and_checks_epochs():
    net, x, y = _net_and_data()
    a, _ = fit_bottleneck(net, x, y, epochs=2, seed=3, progress=False)
    b, _ = fit_bottleneck(net, x, y, epochs=2, seed=3, progress=False)
    np.testing.assert_array_equal(local_fields(a, x), local_fields(b, x))
    with pytest.raises(ValueError, match="epochs"):
        fit_bottleneck(net, x, y, epochs=0, progress=False)
