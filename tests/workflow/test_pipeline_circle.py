"""End to end: the Figure 1-3 DAG on the tiny tests/config/test.yaml, then a dry run that has
nothing to do, and a plotting-only change that reruns only the figure rule."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers.pipelines import run_snakemake

from deepftle.pipeline.claims import COLUMNS

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "tests/config/test.yaml"
TARGETS = ["fig1", "fig2", "fig3", "figS1"]


def _read(path):
    return pd.read_csv(path, sep="\t", comment="#")


@pytest.mark.slow
def test_circle_figures_end_to_end(circle_pipeline_run):
    tmp_path = circle_pipeline_run  # the session's tiny run (tests/conftest.py); read only
    res = tmp_path / "results"
    for name in ("fig1", "fig2", "fig3", "figS1"):
        for ext in ("pdf", "png"):
            assert (res / "figures" / f"{name}.{ext}").stat().st_size > 1000
    for tsv in ("fig1", "fig2", "fig3a", "fig3b"):
        assert len(_read(res / "figures" / f"{tsv}.tsv")) > 0

    ridges = _read(res / "circle/ridges.tsv")
    assert len(ridges) == 2 and set(ridges.L) == {2, 4}
    assert ridges.train_error.between(0, 1).all() and ridges.test_error.between(0, 1).all()
    finite = ridges.alignment.dropna()
    assert finite.between(0, 1).all() and ridges.orthogonality.dropna().between(0, 1).all()
    # 2 epochs on 1000 points: both nets are below the 98 % floor, and say so
    assert list(ridges.below_floor) == [True, True]

    cross = _read(res / "circle/crossover.tsv")
    assert len(cross) == 12 and set(cross.L) == {2, 3, 4} and set(cross.N) == {4, 24}
    assert list(cross.columns[:5]) == ["N", "L", "seed", "lam_d", "lam_c"]
    assert np.isfinite(cross.lam_c).all() and cross.below_floor.all()
    fit = _read(res / "circle/crossover_fit.tsv")
    assert np.isfinite(fit.C_c.iloc[0]) and fit.n_fit.iloc[0] == 12
    for figure in ("fig2", "fig3", "figS1"):
        claims = _read(res / f"claims/{figure}.tsv")
        assert list(claims.columns) == COLUMNS
        assert set(claims.figure) == {figure}
    floors = _read(res / "claims/fig3.tsv")
    floors = floors[floors.claim.str.startswith("every net")]
    assert floors.estimate.tolist() == [12] and not floors.holds.any()

    errors = _read(res / "figures/fig3a.tsv")
    assert set(errors["mode"]) == {"full", "readout"} and errors.test_error.between(0, 1).all()
    lam = _read(res / "circle/lam1_training.tsv")
    assert set(lam.s) == {-0.2, 0.2} and list(lam[lam.s == 0.2].epoch) == [0, 1, 2]
    assert np.isfinite(lam[["q10", "median", "q90"]].to_numpy()).all()
    assert (lam.q10 <= lam["median"]).all() and (lam["median"] <= lam.q90).all()

    field = np.load(res / "circle/fields/fig2/N5_L4_s0_seed0_full.npz")
    lam1, lam2 = field["lam1"], field["lam2"]
    assert lam1.shape == (31, 31) and field["v1"].shape == (31, 31, 2)
    defined = np.isfinite(lam1)
    assert defined.mean() > 0.99 and (lam1[defined] >= lam2[defined]).all()
    assert (np.abs(field["output"]) <= 1).all()
    for log in (
        "train_circle_group_fig2/N5_L2.log",
        "ftle_field/fig2/N5_L2_s0_seed0_full.log",
        "plot_fig2/main.log",
    ):
        assert (res / "logs" / log).exists()
    assert (res / "benchmarks/train_circle/fig3a/N4_L2_s0_seed0_readout.tsv").exists()
    # the width rule (tests/config/test.yaml: lr_width 8): N = 24 starts at 0.05 * 8 / 24, and
    # the cosine schedule takes it to zero at the last step
    hist = _read(res / "circle/nets/fig3b/N24_L2_s0_seed0_full.history.tsv")
    assert hist.lr.iloc[0] == pytest.approx(0.05 * 8 / 24)
    assert hist.lr.iloc[-1] == pytest.approx(0.0, abs=1e-12)

    dry = run_snakemake(tmp_path, CONFIG, "-n", *TARGETS, timeout=600)
    assert dry.returncode == 0 and "Nothing to be done" in dry.stdout + dry.stderr, dry.stdout

    # a plotting-only change reruns the figure rule and nothing upstream
    changed = tmp_path.parent / "plot.yaml"
    changed.write_text(CONFIG.read_text().replace("stride: 5", "stride: 3"))
    dry = run_snakemake(tmp_path, changed, "-n", *TARGETS, timeout=300)
    out = dry.stdout + dry.stderr
    assert dry.returncode == 0 and "plot_fig2" in out, out[-3000:]
    for upstream in ("train_circle", "ftle_field", "ridge_metrics", "circle_data", "crossover"):
        assert f"rule {upstream}:" not in out and f"\n{upstream} " not in out, out[-3000:]


@pytest.mark.slow
def test_narrow_nets_train_as_populations(circle_pipeline_run):
    """population.max_width = 20 in the tiny config: Fig. 3b's N = 4 realisations train in one
    job per (N, L), N = 24 one job per net; a grouped net equals the same net trained alone."""
    import torch
    import yaml

    from deepftle.circle.nets import circle_net, train_circle_nets
    from deepftle.nets.checkpoints import load_model

    res = circle_pipeline_run / "results"
    assert "2 net(s), N = 4, L = 3" in (res / "logs/train_circle_group_fig3b/N4_L3.log").read_text()
    assert not (res / "benchmarks/train_circle/fig3b/N4_L3_s0_seed1_full.tsv").exists()
    assert (res / "benchmarks/train_circle/fig3b/N24_L3_s0_seed1_full.tsv").exists()

    circle = yaml.safe_load(CONFIG.read_text())["circle"]
    keys = ("sigma_theta", "epochs", "first_layer", "redraws", "min_accuracy")
    settings = dict(
        seed=circle["seed"],
        train=circle["train"],
        experiment={k: circle["fig3b"][k] for k in keys if k in circle["fig3b"]},
    )
    data = {
        k: torch.as_tensor(v)
        for k, v in np.load(res / "circle/data.npz").items()
        if k in ("x_train", "t_train", "x_test", "t_test")
    }
    ((solo, hist, _, _),) = train_circle_nets(
        [circle_net(settings, 4, 3, 0.0, 1)], data, progress=False
    )
    grouped = load_model(res / "circle/nets/fig3b/N4_L3_s0_seed1_full.pt")
    for a, b in zip(solo.state_dict().values(), grouped.state_dict().values(), strict=True):
        assert float((a - b).abs().max()) < 1e-4  # float32 rounding of batched products
    got = _read(res / "circle/nets/fig3b/N4_L3_s0_seed1_full.history.tsv")
    assert np.allclose(got.loss, hist.loss, atol=1e-5)
    assert list(got.draw) == list(hist.draw) and list(got.init_seed) == list(hist.init_seed)
