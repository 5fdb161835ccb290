"""Shared fixtures. ``full_pipeline_run``: one complete run of the tiny Figures 1-4, S1, S2
pipeline (tests/config/test.yaml plus a synthetic MNIST-format data set), made once per test
session and reused by every test that only reads its results or dry-runs on it (end-to-end
checks, determinism, provenance, report). ``circle_pipeline_run`` is its work directory. What the
tests share besides fixtures lives in ``tests/helpers/``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from helpers.configs import write_configs  # noqa: E402
from helpers.pipelines import run_full_pipeline  # noqa: E402


def pytest_runtest_setup(item):
    """Tests marked ``network`` reach a package registry: they run only when selected
    (``pytest -m network``) or with ``DEEPFTLE_NETWORK=1``."""
    if item.get_closest_marker("network") is None:
        return
    if (
        "network" not in (item.config.getoption("-m") or "")
        and os.environ.get("DEEPFTLE_NETWORK") != "1"
    ):
        pytest.skip("network test: run with `pytest -m network` or DEEPFTLE_NETWORK=1")


@pytest.fixture(scope="session")
def full_pipeline_run(tmp_path_factory) -> tuple[Path, Path]:
    """``(workdir, config)`` of a finished tiny Figures 1-4 run. Read only (dry runs are fine)."""
    _, config = write_configs(tmp_path_factory.mktemp("configs"))
    return run_full_pipeline(tmp_path_factory.mktemp("full_run"), config), config


@pytest.fixture(scope="session")
def circle_pipeline_run(full_pipeline_run) -> Path:
    """Work directory of the finished tiny run (results/ inside). Read only."""
    return full_pipeline_run[0]
