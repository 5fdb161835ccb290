"""Fashion-MNIST sources: a local folder, Debian's package (offline here: a package built by the
test and a stand-in ``apt-get`` that hands it over; the real one under ``pytest -m network``),
the checks of the raw files, nothing left behind on failure."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess

import numpy as np
import pytest
from helpers.mnist_synthetic import write_synthetic_mnist

from deepftle.images.data import (
    FASHION_CHECKSUMS,
    FILES,
    MnistDataError,
    fetch_fashion_mnist,
    load_mnist,
    sha256,
)

needs_dpkg = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb")


def _fake_debian(tmp_path, monkeypatch, *, files_from, package="dataset-fashion-mnist"):
    """A .deb holding ``files_from``'s .gz files under usr/share/datasets/fashion-mnist/, and an
    ``apt-get`` on PATH whose ``download`` copies it into the working directory."""
    root = tmp_path / "pkgroot"
    data = root / "usr/share/datasets/fashion-mnist"
    data.mkdir(parents=True)
    for f in files_from.glob("*.gz"):
        shutil.copy(f, data / f.name)
    (root / "DEBIAN").mkdir()
    (root / "DEBIAN/control").write_text(
        f"Package: {package}\nVersion: 0.1-1\nArchitecture: all\nMaintainer: t <t@t>\n"
        "Description: test\n"
    )
    deb = tmp_path / f"{package}_0.1-1_all.deb"
    subprocess.run(
        ["dpkg-deb", "--build", "--root-owner-group", str(root), str(deb)],
        check=True,
        capture_output=True,
    )
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "apt-get"
    fake.write_text(
        f'#!/bin/sh\n[ "$1" = download ] && [ "$2" = {package} ] && '
        f'cp "{deb}" . && exit 0\necho "E: Unable to locate package $2" >&2\n'
        "exit 100\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")


def test_local_folder(tmp_path):
    checksums = write_synthetic_mnist(tmp_path / "local", 40, 10, gz=True)
    out = fetch_fashion_mnist(
        tmp_path / "res" / "fashion",
        checksums=checksums,
        local=tmp_path / "local",
        debian_package=None,
        log=lambda m: None,
    )
    assert [p.name for p in out] == list(FILES)
    assert load_mnist(tmp_path / "res" / "fashion", checksums)[0].shape == (40, 784)


@needs_dpkg
def test_debian_package_is_downloaded_unpacked_and_checked(tmp_path, monkeypatch):
    checksums = write_synthetic_mnist(tmp_path / "gz", 40, 10, gz=True)
    _fake_debian(tmp_path, monkeypatch, files_from=tmp_path / "gz")
    logs = []
    monkeypatch.chdir(tmp_path)  # a relative destination, as the data rule gives
    out = fetch_fashion_mnist("res/fashion", checksums=checksums, log=logs.append)
    out = [tmp_path / p for p in out]
    assert all(sha256(p) == checksums[p.name] for p in out)
    assert any("Debian package dataset-fashion-mnist" in line for line in logs)
    assert sorted(os.listdir(tmp_path / "res")) == ["fashion"]  # no staging folder left


@needs_dpkg
def test_wrong_package_contents_fail_naming_file_and_check(tmp_path, monkeypatch):
    write_synthetic_mnist(tmp_path / "gz", 40, 10, gz=True)
    _fake_debian(tmp_path, monkeypatch, files_from=tmp_path / "gz")
    with pytest.raises(MnistDataError) as err:  # the real checksums: synthetic files fail
        fetch_fashion_mnist(tmp_path / "res" / "fashion", log=lambda m: None)
    msg = str(err.value)
    assert "no Fashion-MNIST source delivered valid files" in msg
    assert "Debian package dataset-fashion-mnist: train-images-idx3-ubyte: wrong checksum" in msg
    assert os.listdir(tmp_path / "res") == []


@needs_dpkg
def test_unknown_package_names_the_failed_command(tmp_path, monkeypatch):
    write_synthetic_mnist(tmp_path / "gz", 40, 10, gz=True)
    _fake_debian(tmp_path, monkeypatch, files_from=tmp_path / "gz")
    with pytest.raises(
        MnistDataError,
        match=r"apt-get download no-such-package failed "
        r"\(exit 100\): E: Unable to locate package",
    ):
        fetch_fashion_mnist(tmp_path / "f", debian_package="no-such-package", log=lambda m: None)


@pytest.mark.network
@pytest.mark.timeout(600)
def test_debian_source_gives_genuine_files(tmp_path):
    """The real package: `pytest -m network` (or DEEPFTLE_NETWORK=1) on a Debian system."""
    out = fetch_fashion_mnist(tmp_path / "fashion", log=print)
    assert {p.name: sha256(p) for p in out} == FASHION_CHECKSUMS
    xtr, ytr, xte, yte = load_mnist(tmp_path / "fashion")
    assert xtr.shape == (60000, 784) and xte.shape == (10000, 784)
    assert np.bincount(ytr).tolist() == [6000] * 10 and np.bincount(yte).tolist() == [1000] * 10
