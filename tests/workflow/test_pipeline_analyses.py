"""End to end: a user's network and data set through the analysis (docs/analyses.md, the worked
example docs/examples/own-net): a model defined in a file outside the package, on a small .npz,
from the user's checkpoints and trained by the pipeline; λ₁ exactly the engine's; claims in the
project's format; a figure; a checkpoint that does not fit stops the run naming file and key."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml
from helpers.pipelines import ROOT, run_snakemake

import deepftle
from deepftle.pipeline.claims import COLUMNS
from deepftle.pipeline.files import read_tsv

EXAMPLE = ROOT / "docs" / "examples" / "own-net"


@pytest.fixture(scope="module")
def example_run(tmp_path_factory):
    """The worked example as the docs give it: make_data.py, then `snakemake analyses`."""
    work = tmp_path_factory.mktemp("own-net")
    subprocess.run([sys.executable, str(EXAMPLE / "make_data.py"), str(work)], check=True)
    for name in ("nets.py", "my.yaml"):
        shutil.copy(EXAMPLE / name, work / name)
    run = run_snakemake(work, work / "my.yaml", "analyses", timeout=900)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    return work


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_lambda_table_is_the_engines_and_the_claims_are_in_the_project_format(example_run):
    res = example_run / "results" / "analyses"
    cfg = yaml.safe_load((EXAMPLE / "my.yaml").read_text())["analyses"]
    sys.path.insert(0, str(example_run))
    try:
        from nets import make_net
    finally:
        sys.path.pop(0)
    x_test = torch.as_tensor(np.load(example_run / "mine.npz")["x_test"])
    for name, entry in cfg.items():
        table = read_tsv(res / name / "lambda.tsv")
        assert list(table.columns) == ["index", "label", "prediction", "lambda_1", "H"]
        first = (
            example_run / entry["checkpoints"][0]
            if "checkpoints" in entry
            else res / name / "net0.pt"
        )
        model = make_net(**entry["model"]["kwargs"])
        model.load_state_dict(torch.load(first, weights_only=True))
        n = entry.get("points") or len(x_test)
        lam = deepftle.ftle(model.eval(), x_test[:n])[:, 0].double().numpy()
        assert len(table) == n and np.array_equal(table["lambda_1"].to_numpy(), lam)
        assert np.array_equal(table["prediction"], model(x_test[:n]).argmax(1).numpy())
        claims = read_tsv(res / name / "claims.tsv")
        assert list(claims.columns) == COLUMNS
        assert (claims["figure"] == f"analysis:{name}").all()
        assert claims["claim"].str.contains("H \\(").any()  # two or more nets: H claims
        for ext in ("png", "pdf"):
            assert (res / name / f"figure.{ext}").stat().st_size > 10_000
    assert len(read_tsv(res / "spirals-trained" / "net2.history.tsv")) == 31
    again = run_snakemake(example_run, example_run / "my.yaml", "analyses", "-n")
    assert "Nothing to be done" in again.stdout + again.stderr


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_one_target_per_analysis_and_a_bad_checkpoint_stops_before_any_work(example_run, tmp_path):
    work = tmp_path / "w"
    shutil.copytree(example_run, work, ignore=shutil.ignore_patterns("results", ".snakemake"))
    state = torch.load(work / "net1.pt", weights_only=True)
    state["extra.weight"] = torch.zeros(2)
    torch.save(state, work / "net1.pt")
    run = run_snakemake(work, work / "my.yaml", "analysis_spirals-checkpoints")
    out = run.stdout + run.stderr
    assert run.returncode != 0
    log = (work / "results/logs/ftle_analysis/spirals-checkpoints.log").read_text()
    assert "net1.pt does not fit" in log and "unexpected key 'extra.weight'" in log, log[-2000:]
    assert not (work / "results/analyses/spirals-checkpoints/lambda.tsv").exists()
    assert "ftle_analysis" in out
