"""Shared fixtures. ``toy_pipeline_run``: one complete run of the tiny Figure 1-3 pipeline
(tests/config/test.yaml), made once per test session and reused by every test that only
reads its results (determinism, provenance)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOY_CONFIG = ROOT / "tests/config/test.yaml"
TOY_TARGETS = ("fig1", "fig2", "fig3")


def run_snakemake(workdir, configfile, *args, timeout=900):
    """``snakemake`` on the repository's Snakefile in ``workdir`` (2 cores)."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory",
           str(workdir), "--configfile", str(configfile), "--cores", "2", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def run_toy_pipeline(workdir: Path) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    run = run_snakemake(workdir, TOY_CONFIG, *TOY_TARGETS)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    return workdir


@pytest.fixture(scope="session")
def toy_pipeline_run(tmp_path_factory) -> Path:
    """Work directory of a finished tiny toy run (results/ inside). Read only."""
    return run_toy_pipeline(tmp_path_factory.mktemp("toy_run"))
