"""CIFAR-10 from a local copy: the publisher's archive or folder, every check naming the file."""

from __future__ import annotations

import io
import os
import pickle
import shutil

import numpy as np
import pytest
from helpers.cifar_synthetic import CLASSES, batch, write_cifar_archive

from deepftle.images.cifar import (
    ARCHIVE_MD5,
    CifarDataError,
    fetch_cifar10,
    load_cifar10,
    read_batch,
)
from deepftle.images.datasets import load_image_set


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    return write_cifar_archive(tmp_path_factory.mktemp("cifar"))


def test_archive_to_npz_keeps_every_image_and_label(archive, tmp_path):
    logs = []
    out = fetch_cifar10(tmp_path / "cifar10.npz", local=archive, md5=None, log=logs.append)
    x, y, xt, yt = load_cifar10(out)
    assert x.shape == (50000, 3072) and xt.shape == (10000, 3072) and x.dtype == np.uint8
    first = batch(0)
    np.testing.assert_array_equal(x[:10000], first[b"data"])
    np.testing.assert_array_equal(y[:10000], first[b"labels"])
    np.testing.assert_array_equal(yt, batch(5)[b"labels"])
    with np.load(out) as d:
        assert list(d["label_names"]) == CLASSES
    assert any("CIFAR-10 from" in line for line in logs)
    data = load_image_set("cifar10", [out])  # as the rules pass it: the data rule's outputs
    assert data.inputs("test").shape == (10000, 3072) and data.y_test.tolist() == yt.tolist()
    # the extracted folder gives the same arrays
    fetch_cifar10(tmp_path / "b.npz", local=archive.parent / "src", log=logs.append)
    np.testing.assert_array_equal(load_cifar10(tmp_path / "b.npz")[0], x)


def test_wrong_checksum_names_the_archive_and_writes_nothing(archive, tmp_path):
    # the folder that holds the archive leads to it; the synthetic archive is not the
    # publisher's, so the default MD5 check fails
    with pytest.raises(
        CifarDataError,
        match=f"cifar-10-python.tar.gz: wrong checksum "
        f"\\(MD5 [0-9a-f]{{32}}, expected {ARCHIVE_MD5}\\)",
    ):
        fetch_cifar10(tmp_path / "x.npz", local=archive.parent, log=lambda m: None)
    assert os.listdir(tmp_path) == []


def test_truncated_archive_is_unreadable(archive, tmp_path):
    cut = tmp_path / "cut" / "cifar-10-python.tar.gz"
    cut.parent.mkdir()
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 3])
    with pytest.raises(CifarDataError, match="cifar-10-python.tar.gz: unreadable archive"):
        fetch_cifar10(tmp_path / "x.npz", local=cut, md5=None, log=lambda m: None)
    assert not (tmp_path / "x.npz").exists()


@pytest.mark.parametrize(
    "bad, match",
    [
        (
            {b"data": np.zeros((10000, 1024), np.uint8), b"labels": [0] * 10000},
            r"data_batch_2: data has shape \(10000, 1024\), expected \(10000, 3072\)",
        ),
        (
            {b"data": np.zeros((10000, 3072), np.float32), b"labels": [0] * 10000},
            "data_batch_2: data must be a uint8 array",
        ),
        (
            {b"data": np.zeros((10000, 3072), np.uint8), b"labels": [0] * 9999},
            "data_batch_2: 9999 labels for 10000 images",
        ),
        (
            {b"data": np.zeros((10000, 3072), np.uint8), b"labels": [10] * 10000},
            "data_batch_2: labels outside 0..9",
        ),
    ],
)
def test_a_batch_of_the_wrong_format_is_named(bad, match):
    with pytest.raises(CifarDataError, match=match):
        read_batch(io.BytesIO(pickle.dumps(bad, protocol=2)), "data_batch_2")


def test_missing_copy_says_where_to_put_it(tmp_path):
    with pytest.raises(CifarDataError, match="put the publisher's cifar-10-python.tar.gz"):
        fetch_cifar10(tmp_path / "x.npz", local=tmp_path / "nowhere", log=lambda m: None)
    with pytest.raises(CifarDataError, match="set cifar10.local"):
        fetch_cifar10(tmp_path / "x.npz", local=None, log=lambda m: None)
    folder = tmp_path / "partial" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": [b"a"] * 10}))
    with pytest.raises(CifarDataError, match="partial/cifar-10-batches-py: no data_batch_1"):
        fetch_cifar10(tmp_path / "x.npz", local=folder.parent, log=lambda m: None)
    assert not (tmp_path / "x.npz").exists()


def test_a_pickle_that_builds_anything_else_is_refused():
    payload = pickle.dumps({b"data": shutil.rmtree, b"labels": []}, protocol=2)
    with pytest.raises(
        CifarDataError, match="evil: not a CIFAR-10 batch .*refuses to build shutil.rmtree"
    ):
        read_batch(io.BytesIO(payload), "evil")
