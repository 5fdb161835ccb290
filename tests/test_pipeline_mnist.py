"""End to end: the whole Figure 4 DAG on a tiny synthetic MNIST-format data set (no network)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import run_snakemake
from deepftle.io import load_npz, read_tsv


ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_fig4_pipeline_on_synthetic_mnist(full_pipeline_run):
    tmp_path, config = full_pipeline_run  # the session's tiny run (tests/conftest.py)
    cfg = yaml.safe_load(config.read_text())

    res = tmp_path / "results"
    for name in ("fig4.pdf", "fig4.png", "fig4_adversarial.pdf", "fig4_adversarial.png"):
        assert (res / "figures" / name).stat().st_size > 10_000, name
    f, prov = load_npz(res / "mnist/ftle.npz")
    assert len(f["lam1"]) == 400 and (f["split"] == "test").sum() == 100
    assert np.isfinite(f["lam1"]).all() and (f["H"] >= 0).all()
    assert prov["config_hash"]
    emb, _ = load_npz(res / "mnist/embedding.npz")
    assert emb["coords"].shape == (300, 2)
    path, _ = load_npz(res / "mnist/adversarial.npz")
    assert path["coords"].shape == (len(path["lam1"]), 2) and len(path["lam1"]) >= 2
    assert int(path["source_class"]) == 9 and path["images"].min() >= 0
    summary = dict(read_tsv(res / "mnist/summary.tsv").values)
    assert summary["train_accuracy"] > 0.8
    assert -1 <= summary["spearman_lam1_error"] <= 1 and 0.93 <= summary["box_fraction_class0"]
    bins = read_tsv(res / "figures/fig4_bins.tsv")
    assert bins["n"].sum() == 100
    hist = read_tsv(res / "mnist/history.tsv")
    assert len(hist) == cfg["mnist"]["train"]["epochs"] + 1
    for rule in ("mnist_data", "train_mnist", "ftle_mnist", "embed_mnist", "adversarial_path",
                 "mnist_summary", "plot_fig4"):
        assert (res / "logs" / rule / "main.log").exists(), rule
        assert (res / "benchmarks" / rule / "main.tsv").exists(), rule
    assert "local folder" in (res / "logs/mnist_data/main.log").read_text()
    assert list((tmp_path / "resources").iterdir()) == [tmp_path / "resources/mnist"]

    dry = run_snakemake(tmp_path, config, "fig4", "-n", timeout=600)
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert "Nothing to be done" in dry.stdout + dry.stderr
