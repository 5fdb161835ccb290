"""End to end: the whole Figure 4 and Fig. S2 DAG on a tiny synthetic MNIST-format data set
(no network)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from helpers.pipelines import run_snakemake

import deepftle
from deepftle.images.datasets import load_image_set
from deepftle.pipeline.claims import COLUMNS, STATUSES
from deepftle.pipeline.files import load_npz, read_tsv

ROOT = Path(__file__).resolve().parents[2]
RULES = (
    "mnist_data",
    "train_mnist",
    "ftle_mnist",
    "bottleneck_mnist",
    "embed_mnist",
    "adversarial_path",
    "adversarial_tsne",
    "width_sweep",
    "mnist_summary",
    "plot_fig4",
    "plot_fig4_adversarial",
    "plot_fig4_tsne",
)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_fig4_pipeline_on_synthetic_mnist(full_pipeline_run):
    tmp_path, config = full_pipeline_run  # the session's tiny run (tests/conftest.py)
    cfg = yaml.safe_load(config.read_text())["mnist"]
    res = tmp_path / "results"
    for stem in ("fig4", "fig4_adversarial", "fig4_tsne"):
        for ext in ("pdf", "png"):
            assert (res / "figures" / f"{stem}.{ext}").stat().st_size > 10_000, stem

    f, prov = load_npz(res / "mnist/ftle.npz")
    assert {"split", "index", "label", "pred", "probs", "H", "lam1", "H_single"} <= set(f)
    assert len(f["lam1"]) == 400 and (f["split"] == "test").sum() == 100
    assert np.isfinite(f["lam1"]).all() and (f["H"] >= 0).all() and prov["config_hash"]
    # H comes from the ensemble: it differs from the main net's own entropy
    assert int(f["ensemble_size"]) == cfg["ensemble"]["size"] == 2
    assert not np.allclose(f["H"], f["H_single"])
    for m in range(1, cfg["ensemble"]["size"]):
        assert (res / f"mnist/ensemble/member{m}.pt").exists()
    # N = 20 <= population.max_width: the members trained as one population job
    assert "seed" in (res / "logs/train_mnist_ensemble/main.log").read_text()
    assert not (res / "logs/train_mnist_member").exists()

    b, _ = load_npz(res / "mnist/bottleneck.npz")
    assert b["coords"].shape == (300, 2) and len(b["label"]) == 300

    path, _ = load_npz(res / "mnist/adversarial.npz")
    n = len(path["lam1"])
    assert path["coords"].shape == (n, 2) and path["images"].shape == (n, 784) and n >= 2
    assert bool(path["reached"]) and path["probs"][-1, 4] >= cfg["adversarial"]["stop_prob"]
    assert int(path["start_index"]) in path["tried"].tolist()
    assert str(path["method"]) == "ce_l2" and int(path["steps"]) == n - 1
    assert float(path["l2"]) > 0 and 0 < float(path["linf"]) <= 1
    assert path["images"].min() >= 0 and path["images"].max() <= 1
    t, _ = load_npz(res / "mnist/adversarial_tsne.npz")
    assert t["coords"].shape == (n, 2) and str(t["embed"]) == cfg["tsne"]["embed"]

    widths = read_tsv(res / "mnist/width_sweep.tsv")
    assert list(widths.columns) == [
        "N",
        "realisation",
        "seed",
        "mean_lam1",
        "std_lam1",
        "mean_lam1_init",
        "std_lam1_init",
        "test_accuracy",
        "below_floor",
    ]
    assert widths["N"].tolist() == sorted(cfg["width_sweep"]["widths"] * 2)
    assert widths["realisation"].tolist() == [0, 1] * 3
    assert widths["seed"].nunique() == 6 and widths["mean_lam1_init"].notna().all()
    # the sweep nets train with width_sweep.train over the main net's protocol
    sweep_prov, main_prov = (
        json.loads(
            next(ln for ln in (res / f).read_text().splitlines() if ln.startswith("# params: "))[
                10:
            ]
        )
        for f in ("mnist/widths/N5_seed0.history.tsv", "mnist/history.tsv")
    )
    # the provenance is each net's spec: {arch, train, seed}
    assert (sweep_prov["train"]["optimizer"], sweep_prov["train"]["lr"]) == ("sgd", 0.05)
    assert (main_prov["train"]["optimizer"], main_prov["train"]["lr"]) == (
        cfg["train"]["optimizer"],
        cfg["train"]["lr"],
    )
    assert sweep_prov["train"]["epochs"] == cfg["width_sweep"]["epochs"]
    assert sweep_prov["arch"]["width"] == 5 and main_prov["arch"]["width"] == cfg["train"]["width"]
    assert main_prov["seed"] == cfg["train"]["seed"]

    claims = read_tsv(res / "claims/fig4.tsv")
    assert list(claims.columns) == COLUMNS
    # 17 rows, 4 more when sweep nets are below their floor (the trends again without them), and
    # the magnitudes the published table has values for (the tiny sweep shares N = 10 with it)
    others = claims[claims["kind"] != "magnitude"]
    assert len(others) == 17 + 4 * bool(widths["below_floor"].any())
    assert len(claims) - len(others) == 6
    assert set(claims["status"]) <= set(STATUSES)
    book = claims[claims["kind"] == "bookkeeping"]
    assert len(book) == 6 and book["estimate"].notna().all()
    assert claims.loc[claims["claim"].str.contains("attack 9 -> 4 reaches"), "holds"].all()
    align = read_tsv(res / "figures/fig4_adversarial_alignment.tsv")
    assert len(align) == n - 1
    summary = dict(read_tsv(res / "mnist/summary.tsv").values)
    assert summary["train_accuracy"] > 0.8 and 0.93 <= summary["box_fraction_class0"]
    assert 0 <= summary["attack_paths_reached"] <= 1 and summary["attack_paths"] == 3
    hist = read_tsv(res / "mnist/history.tsv")
    assert len(hist) == cfg["train"]["epochs"] + 1
    for rule in RULES:
        assert (res / "logs" / rule / "main.log").exists(), rule
        assert (res / "benchmarks" / rule / "main.tsv").exists(), rule
    assert "local folder" in (res / "logs/mnist_data/main.log").read_text()
    assert "candidate starts" in (res / "logs/adversarial_path/main.log").read_text()

    dry = run_snakemake(tmp_path, config, "fig4", "-n", timeout=600)
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert "Nothing to be done" in dry.stdout + dry.stderr


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_figS2_pipeline_on_synthetic_mnist(full_pipeline_run):
    """Fig. S2: the configured other architecture trained as an ensemble (one job per net),
    lambda_1 of net 0 over the test set, H of the ensemble, claims with the floor marked."""
    tmp_path, config = full_pipeline_run
    cfg = yaml.safe_load(config.read_text())["mnist"]["figS2"]
    res = tmp_path / "results"
    for ext in ("pdf", "png"):
        assert (res / "figures" / f"figS2.{ext}").stat().st_size > 10_000
    run = res / "analyses" / f"mnist-{cfg['arch']}"
    m = cfg["ensemble_size"]
    assert m == 2
    for n in range(m):
        assert len(read_tsv(run / f"net{n}.history.tsv")) == cfg["epochs"] + 1
        assert (res / f"logs/train_analysis_net/mnist-{cfg['arch']}/net{n}.log").exists()
    f, prov = load_npz(run / "ftle.npz")
    assert str(f["kind"]) == "cnn" and int(f["depth"]) == 3 and prov["config_hash"]
    assert len(f["lam1"]) == 100 and np.isfinite(f["lam1"]).all()  # all synthetic test images
    assert int(f["ensemble_size"]) == m and len(f["test_accuracy"]) == m
    assert not np.allclose(f["H"], f["H_single"])  # H is the ensemble's, not net 0's own
    # lambda_1 is the CNN trunk's: recompute it at a few images from the checkpoint
    net = deepftle.load_model(run / "net0.pt")
    data = load_image_set("mnist", tmp_path / "resources/mnist")
    x = data.inputs("test")[:5]
    lam = deepftle.ftle(net.eval().trunk, x, depth=3)[:, 0].double().numpy()
    np.testing.assert_allclose(f["lam1"][:5], lam, atol=1e-6)
    assert np.array_equal(f["pred"], net(data.inputs("test")).argmax(1).numpy())

    bins = read_tsv(res / "figures/figS2_bins.tsv")
    n_bins = yaml.safe_load(config.read_text())["mnist"]["fig4"]["n_bins"]
    assert bins["n"].sum() <= 100 and 1 <= len(bins) <= n_bins
    claims = read_tsv(res / "claims/figS2.tsv")
    assert list(claims.columns) == COLUMNS
    assert len(claims) == 7 and (claims["figure"] == "figS2").all()
    below = int((np.asarray(f["test_accuracy"]) < cfg["min_accuracy"]).sum())
    floor = claims.iloc[0]
    assert floor["estimate"] == below and bool(floor["holds"]) == (below == 0)
    if below:  # the tiny nets are below the floor: every trend claim says so
        assert claims["claim"].iloc[2:].str.contains("below the accuracy floor").all()
    for rule in ("train_analysis_net", "ftle_analysis", "claims_figS2", "plot_figS2"):
        assert (res / "benchmarks" / rule).exists(), rule
    dry = run_snakemake(tmp_path, config, "figS2", "-n", timeout=600)
    assert dry.returncode == 0 and "Nothing to be done" in dry.stdout + dry.stderr


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_failed_attack_stops_the_pipeline_and_writes_nothing(full_pipeline_run, tmp_path):
    """An unreachable target probability: the rule fails naming every start, no adversarial.npz,
    no Figure 4."""
    import shutil

    run, config = full_pipeline_run
    cfg = yaml.safe_load(config.read_text())
    cfg["mnist"]["adversarial"]["stop_prob"] = 1.0
    cfg["mnist"]["adversarial"]["max_steps"] = 20
    work = tmp_path / "w"
    shutil.copytree(run / "resources", work / "resources")
    (work / "results").mkdir(parents=True)
    shutil.copytree(run / "results" / "mnist", work / "results" / "mnist")
    (work / "results/mnist/adversarial.npz").unlink()
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    out = run_snakemake(
        work,
        tmp_path / "c.yaml",
        "results/mnist/adversarial.npz",
        "--rerun-triggers",
        "mtime",
        timeout=600,
    )
    assert out.returncode != 0
    log = (work / "results/logs/adversarial_path/main.log").read_text()
    assert "AttackFailed" in log and "best p = " in log and "nothing written" in log
    assert not (work / "results/mnist/adversarial.npz").exists()
