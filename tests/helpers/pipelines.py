"""Snakemake runs of the repository's workflow on the tiny test configs (tests/config/)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CIRCLE_CONFIG = ROOT / "tests/config/test.yaml"
CIRCLE_TARGETS = ("fig1", "fig2", "fig3", "figS1")
FULL_TARGETS = ("fig1", "fig2", "fig3", "figS1", "fig4", "figS2", "figS3")


def run_snakemake(workdir, configfile, *args, timeout=900):
    """``snakemake`` on the repository's Snakefile in ``workdir`` (2 cores)."""
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(configfile),
        "--cores",
        "2",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def run_circle_pipeline(workdir: Path) -> Path:
    """The tiny Figures 1-3, S1 run in ``workdir``; fails the test if Snakemake fails."""
    workdir.mkdir(parents=True, exist_ok=True)
    run = run_snakemake(workdir, CIRCLE_CONFIG, *CIRCLE_TARGETS)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    return workdir


def run_full_pipeline(workdir: Path, config: Path) -> Path:
    """The tiny Figures 1-4, S1, S2 run of ``config`` in ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    run = run_snakemake(workdir, config, *FULL_TARGETS)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    return workdir
