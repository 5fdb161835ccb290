"""Packaging: environment.yml and pyproject.toml list the same packages and minimum versions."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch", "opentsne": "opentsne"}


def _parse(spec: str):
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(>=\s*[0-9][^,;\s]*)?", spec)
    name = m.group(1).lower().replace("_", "-")
    return CONDA_NAMES.get(name, name), (m.group(2) or "").replace(" ", "")


def test_environment_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = dict(_parse(s) for s in project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted.update(_parse(s) for s in extra)
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = dict(
        _parse(s)
        for s in env["dependencies"]
        if isinstance(s, str) and not s.startswith(("python", "pip"))
    )
    assert conda == wanted


def test_bootstrap_pins_local_cpu_torch():
    makefile = (ROOT / "Makefile").read_text()
    assert "TORCH_SPEC ?= torch==2.13.0" in makefile
