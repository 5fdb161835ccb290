"""Data-set keys: shapes, per-channel standardisation, the loaders, and MNIST through the generic
path giving the same network inputs as the MNIST loader."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers.mnist_synthetic import write_synthetic_mnist

from deepftle.images.data import FILES
from deepftle.images.datasets import SETS, ImageData, load_image_set
from deepftle.images.nets import MnistData
from deepftle.nets.archs import build_net


def test_mnist_through_the_generic_loader_gives_the_same_inputs(tmp_path):
    write_synthetic_mnist(tmp_path, 30, 10)
    generic, mnist = load_image_set("mnist", [tmp_path / f for f in FILES]), MnistData(tmp_path)
    for split in ("train", "test"):
        assert torch.equal(generic.inputs(split), mnist.inputs(split))
        assert torch.equal(generic.labels(split), mnist.labels(split))


def test_per_channel_standardisation_of_cifar_rows():
    s = SETS["cifar10"]
    assert s.d_in == 3072 and s.image == (3, 32, 32)
    x = np.zeros((2, 3072), np.uint8)
    x[:, 1024:2048] = 255  # green channel saturated
    data = ImageData(s, x, np.array([0, 1]), x[:1], np.array([3]))
    z = data.inputs("train").reshape(2, 3, 1024)
    assert torch.allclose(z[:, 0], torch.tensor(-s.mean[0] / s.std[0]))
    assert torch.allclose(z[:, 1], torch.tensor((1 - s.mean[1]) / s.std[1]))
    assert torch.allclose(z[:, 2], torch.tensor(-s.mean[2] / s.std[2]))
    # the CNN takes the same rows as 3 x 32 x 32 images
    cnn = build_net(dict(kind="cnn", image=list(s.image)))
    assert cnn(data.inputs("train")).shape == (2, 10)
    assert cnn.arch["image"] == [3, 32, 32]
    assert "image" not in build_net(dict(kind="cnn")).arch  # MNIST checkpoints unchanged


def test_bad_arrays_and_keys_are_named():
    s = SETS["fashion_mnist"]
    with pytest.raises(ValueError, match="Fashion-MNIST train images must be uint8 rows of 784"):
        ImageData(
            s, np.zeros((2, 783), np.uint8), np.zeros(2), np.zeros((1, 784), np.uint8), np.zeros(1)
        )
    with pytest.raises(ValueError, match="Fashion-MNIST test: 1 images but 2 labels"):
        ImageData(
            s, np.zeros((2, 784), np.uint8), np.zeros(2), np.zeros((1, 784), np.uint8), np.zeros(2)
        )
    with pytest.raises(ValueError, match="unknown data set 'svhn'"):
        load_image_set("svhn", "x")
    with pytest.raises(ValueError, match="image must be"):
        build_net(dict(kind="cnn", image=[28, 28]))
