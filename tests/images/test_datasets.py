"""One data-set type for every source: shapes, per-channel standardisation of the image sets
(MNIST's inputs bitwise those of the paper's pixel statistics), a user's .npz and its errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers.mnist_synthetic import write_synthetic_mnist

from deepftle.images.data import FILES
from deepftle.images.datasets import SETS, DataSet, load_image_set
from deepftle.nets.archs import build_net


def test_mnist_inputs_are_the_standardised_pixels_bit_for_bit(tmp_path):
    write_synthetic_mnist(tmp_path, 30, 10)
    data = load_image_set("mnist", [tmp_path / f for f in FILES])
    for split, x in (("train", data.x_train), ("test", data.x_test)):
        ref = (torch.as_tensor(x, dtype=torch.float32) / 255.0 - 0.1307) / 0.3081
        assert torch.equal(data.inputs(split), ref)
    assert data.labels("test").dtype == torch.int64 and data.n_classes == 10


def test_per_channel_standardisation_of_cifar_rows():
    s = SETS["cifar10"]
    assert s.d_in == 3072 and s.image == (3, 32, 32)
    x = np.zeros((2, 3072), np.uint8)
    x[:, 1024:2048] = 255  # green channel saturated
    data = DataSet(s.name, x, np.array([0, 1]), x[:1], np.array([3]), image_set=s)
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
        DataSet(
            s.name,
            np.zeros((2, 783), np.uint8),
            np.zeros(2, int),
            np.zeros((1, 784), np.uint8),
            np.zeros(1, int),
            image_set=s,
        )
    with pytest.raises(
        ValueError, match=r"Fashion-MNIST test: 1 inputs but labels of shape \(2,\)"
    ):
        DataSet(
            s.name,
            np.zeros((2, 784), np.uint8),
            np.zeros(2, int),
            np.zeros((1, 784), np.uint8),
            np.zeros(2, int),
            image_set=s,
        )
    with pytest.raises(ValueError, match="unknown data set 'svhn'"):
        load_image_set("svhn", "x")
    with pytest.raises(ValueError, match="image must be"):
        build_net(dict(kind="cnn", image=[28, 28]))


def test_a_users_npz_as_it_is_or_standardised(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, (20, 2, 5))
    np.savez(
        tmp_path / "d.npz",
        x_test=x[:8],
        y_test=np.arange(8) % 3,
        x_train=x[8:],
        y_train=np.arange(12) % 3,
    )
    raw = DataSet.from_npz(tmp_path / "d.npz")
    assert torch.equal(raw.inputs("test"), torch.as_tensor(x[:8], dtype=torch.float32))
    assert raw.inputs("test").shape == (8, 2, 5) and raw.n_classes == 3
    std = DataSet.from_npz(tmp_path / "d.npz", standardise=True)
    z = std.inputs("train").double()
    assert abs(float(z.mean())) < 1e-5 and abs(float(z.std(unbiased=False)) - 1) < 1e-5


def test_a_bad_npz_names_the_file_and_the_key(tmp_path):
    np.savez(tmp_path / "a.npz", x_test=np.zeros((3, 4)), labels=np.zeros(3))
    with pytest.raises(KeyError, match=r"a.npz: missing array\(s\) \['y_test'\]"):
        DataSet.from_npz(tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", x_test=np.zeros((3, 4)), y_test=np.zeros(3, int))
    with pytest.raises(KeyError, match=r"b.npz: missing array\(s\) \['x_train', 'y_train'\]"):
        DataSet.from_npz(tmp_path / "b.npz", need_train=True)
    with pytest.raises(ValueError, match="no training split"):
        DataSet.from_npz(tmp_path / "b.npz").inputs("train")
    np.savez(tmp_path / "c.npz", x_test=np.array([[np.nan]]), y_test=np.zeros(1, int))
    with pytest.raises(ValueError, match="c.npz: x_test holds NaN or infinite values"):
        DataSet.from_npz(tmp_path / "c.npz")
    np.savez(tmp_path / "e.npz", x_test=np.zeros((2, 1)), y_test=np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match="y_test: integer class labels"):
        DataSet.from_npz(tmp_path / "e.npz")
    with pytest.raises(FileNotFoundError, match="no such file"):
        DataSet.from_npz(tmp_path / "none.npz")
