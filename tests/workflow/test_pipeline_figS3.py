"""End to end: the Fig. S3 DAG. On the session's tiny run (synthetic MNIST-format files standing
in for Fashion-MNIST); and, under ``pytest -m network``, on the real Fashion-MNIST fetched from
Debian's package together with CIFAR-10 from a synthetic copy in the publisher's format."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from helpers.cifar_synthetic import write_cifar_folder
from helpers.pipelines import ROOT, run_snakemake

from deepftle.pipeline.files import load_npz, read_tsv


def _claims(path):
    return read_tsv(path)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_figS3_on_the_tiny_run(full_pipeline_run):
    run, _ = full_pipeline_run
    res = run / "results"
    for ext in ("pdf", "png"):
        assert (res / "figures" / f"figS3.{ext}").stat().st_size > 10_000
    for arch, depth in (("mlp", 16), ("cnn", 3)):
        f, prov = load_npz(res / "analyses" / f"fashion_mnist-{arch}" / "ftle.npz")
        assert int(f["depth"]) == depth and int(f["ensemble_size"]) == 2
        assert len(f["lam1"]) == 100 and np.isfinite(f["lam1"]).all()
        assert prov["config_hash"]
    m, _ = load_npz(res / "analyses/fashion_mnist-mlp/bottleneck.npz")
    assert m["test_coords"].shape == (100, 2)
    claims = _claims(res / "claims/figS3.tsv")
    assert len(claims) == 14 and claims.claim.str.startswith("Fashion-MNIST: ").all()
    # 1 epoch on 300 images: every net is below its floor, counted and named in every claim
    floors = claims[claims.claim.str.contains("reaches")]
    assert list(floors.estimate) == [2, 2] and not floors.holds.any()
    assert (floors.kind == "bookkeeping").all()
    others = claims[~claims.claim.str.contains("reaches|train accuracy")]
    assert others.claim.str.contains(r"\[2 of 2 nets below the accuracy floor\]").all()
    summary = read_tsv(res / "figures/figS3_summary.tsv")
    assert set(summary.arch) == {"mlp", "cnn"} and "test_accuracy_net1" in set(summary.quantity)


@pytest.mark.network
@pytest.mark.timeout(1200)
def test_figS3_on_real_fashion_mnist_and_a_cifar10_copy(tmp_path):
    cfg = yaml.safe_load((ROOT / "tests/config/test_mnist.yaml").read_text())
    cfg["mnist"]["train"].update(width=8, depth=3)
    s3 = cfg["mnist"]["figS3"]
    s3["n_test"] = 500
    cfg["datasets"]["fashion_mnist"] = {
        "local": None,
        "debian_package": "dataset-fashion-mnist",
        "mirrors": [],
        "timeout_s": 300,
    }
    cfg["datasets"]["cifar10"]["local"] = str(write_cifar_folder(tmp_path / "cifar"))
    cfg["mnist"]["figS2"]["cnn"] = {"channels": [4, 8], "kernel": 5, "stride": 2, "hidden": 16}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    proc = run_snakemake(tmp_path / "run", tmp_path / "c.yaml", "figS3", timeout=1100)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    res = tmp_path / "run" / "results"
    log = (res / "logs/fashion_mnist_data/main.log").read_text()
    assert "Fashion-MNIST from Debian package dataset-fashion-mnist" in log
    assert "IDX header and SHA-256 ok" in log
    claims = _claims(res / "claims/figS3.tsv")
    assert len(claims) == 28
    assert claims.claim.str.startswith("Fashion-MNIST: ").sum() == 14
    assert claims.claim.str.startswith("CIFAR-10: ").sum() == 14
    f, _ = load_npz(res / "analyses/cifar10-cnn/ftle.npz")
    assert len(f["lam1"]) == 500 and "CNN" in str(f["arch"])
    assert (res / "figures/figS3.png").stat().st_size > 10_000
