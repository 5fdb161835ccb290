"""Every result file of the tiny circle run (npz, tsv, pt) says what produced it: the hash of
its parameters, package version, git commit, torch version and device; no timestamps."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

import deepftle
from deepftle.pipeline.files import _git_commit, config_hash, load_npz

KEYS = {"config_hash", "deepftle", "git_commit", "torch", "device"}
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _tsv_provenance(path):
    prov = {}
    for line in path.read_text().splitlines():
        if not line.startswith("# "):
            break
        key, _, value = line[2:].partition(": ")
        prov[key] = value
    return prov


def _provenance(path):
    if path.suffix == ".npz":
        return load_npz(path)[1]
    if path.suffix == ".tsv":
        return _tsv_provenance(path)
    return torch.load(path, map_location="cpu", weights_only=True)["provenance"]


@pytest.mark.slow
def test_every_result_file_carries_provenance(circle_pipeline_run):
    res = circle_pipeline_run / "results"
    files = [
        p
        for p in sorted(res.rglob("*"))
        if p.suffix in (".npz", ".tsv", ".pt")
        and p.relative_to(res).parts[0] not in ("logs", "benchmarks")
    ]
    assert {p.suffix for p in files} == {".npz", ".tsv", ".pt"} and len(files) >= 20
    # a 40-digit commit in a git checkout (a commit may land while the tests run), else unknown
    commit = r"[0-9a-f]{40}" if _git_commit() != "unknown" else "unknown"
    problems = []
    for path in files:
        name = str(path.relative_to(res))
        prov = {k: str(v) for k, v in _provenance(path).items()}
        if not KEYS <= set(prov):
            problems.append(f"{name}: missing {sorted(KEYS - set(prov))}")
            continue
        if not re.fullmatch(r"[0-9a-f]{16}", prov["config_hash"]):
            problems.append(f"{name}: config_hash {prov['config_hash']!r}")
        if "params" in prov and config_hash(json.loads(prov["params"])) != prov["config_hash"]:
            problems.append(f"{name}: config_hash is not the hash of its params")
        if prov["deepftle"] != deepftle.__version__ or prov["torch"] != str(torch.__version__):
            problems.append(f"{name}: versions {prov['deepftle']}, {prov['torch']}")
        if not re.fullmatch(commit, prov["git_commit"]):
            problems.append(f"{name}: git_commit {prov['git_commit']!r}, expected {commit!r}")
        if prov["device"] != "cpu":  # tests/config/test.yaml: device cpu
            problems.append(f"{name}: device {prov['device']!r}")
        if any(TIMESTAMP.search(v) for v in prov.values()):
            problems.append(f"{name}: provenance holds a timestamp")
    assert not problems, "\n".join(problems)
    # parameters that differ give different hashes: the two Fig. 2 nets of the tiny config
    h = [
        _provenance(res / f"circle/nets/fig2/N5_L{L}_s0_seed0_full.pt")["config_hash"]
        for L in (2, 4)
    ]
    assert h[0] != h[1]
    assert np.all([len(v) for v in h])
