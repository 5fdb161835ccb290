"""Shared fixtures. ``full_pipeline_run``: one complete run of the tiny Figures 1-4 pipeline
(tests/config/test.yaml plus a synthetic MNIST-format data set; Figures 1-4, S1, S2), made once per test session and
reused by every test that only reads its results or dry-runs on it (end-to-end checks,
determinism, provenance, report). ``toy_pipeline_run`` is its work directory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOY_CONFIG = ROOT / "tests/config/test.yaml"
TOY_TARGETS = ("fig1", "fig2", "fig3", "figS1")
FULL_TARGETS = ("fig1", "fig2", "fig3", "figS1", "fig4", "figS2")
sys.path.insert(0, str(ROOT / "tests" / "slurm"))
from test_configs import write_configs  # noqa: E402


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


def run_full_pipeline(workdir: Path, config: Path) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    run = run_snakemake(workdir, config, *FULL_TARGETS)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    return workdir


@pytest.fixture(scope="session")
def full_pipeline_run(tmp_path_factory) -> tuple[Path, Path]:
    """``(workdir, config)`` of a finished tiny Figures 1-4 run. Read only (dry runs are fine)."""
    _, config = write_configs(tmp_path_factory.mktemp("configs"))
    return run_full_pipeline(tmp_path_factory.mktemp("full_run"), config), config


@pytest.fixture(scope="session")
def toy_pipeline_run(full_pipeline_run) -> Path:
    """Work directory of the finished tiny run (results/ inside). Read only."""
    return full_pipeline_run[0]
