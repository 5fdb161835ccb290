"""Same config and seed on the CPU: two complete runs of the tiny Figures 1-4 pipeline, in two work
directories, give bitwise-identical numeric outputs (checkpoint tensors, fields, snapshots,
tables, including their provenance). Figures (PDF/PNG), logs and benchmarks may differ."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.pipelines import run_full_pipeline

SKIP = ("logs", "benchmarks")
# the commit is the only provenance entry allowed to differ (a commit may land between runs)
COMMIT = re.compile(r"^# git_commit: .*$", re.M)
NUMERIC = (".pt", ".npz", ".tsv")


def _results(workdir: Path) -> dict[str, Path]:
    res = workdir / "results"
    return {
        str(p.relative_to(res)): p
        for p in sorted(res.rglob("*"))
        if p.is_file() and p.suffix in NUMERIC and p.relative_to(res).parts[0] not in SKIP
    }


def _same_tree(a, b, where):
    """Nested dicts / lists of tensors, arrays and plain values: bitwise equal."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape, where
        assert a.numpy().tobytes() == b.numpy().tobytes(), f"{where}: tensors differ"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and sorted(map(str, a)) == sorted(map(str, b)), where
        for k in a:
            _same_tree(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same_tree(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_two_runs_are_bitwise_identical(full_pipeline_run, tmp_path):
    workdir, config = full_pipeline_run
    first = _results(workdir)
    second = _results(run_full_pipeline(tmp_path / "again", config))
    assert sorted(first) == sorted(second)
    kinds = {s: sum(name.endswith(s) for name in first) for s in NUMERIC}
    assert kinds[".pt"] >= 8 and kinds[".npz"] >= 5 and kinds[".tsv"] >= 10, kinds
    for name, path in first.items():
        other = second[name]
        if path.suffix == ".pt":
            a = torch.load(path, map_location="cpu", weights_only=True)
            b = torch.load(other, map_location="cpu", weights_only=True)
            for payload in (a, b):
                payload["provenance"].pop("git_commit")
            _same_tree(a, b, name)
        elif path.suffix == ".npz":
            with np.load(path) as a, np.load(other) as b:
                assert sorted(a.files) == sorted(b.files), name
                for k in a.files:
                    assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, f"{name}:{k}"
                    if k == "__provenance__":
                        pa, pb = json.loads(str(a[k])), json.loads(str(b[k]))
                        pa.pop("git_commit"), pb.pop("git_commit")
                        assert pa == pb, f"{name}: provenance differs"
                    else:
                        assert a[k].tobytes() == b[k].tobytes(), f"{name}: {k} differs"
        else:  # tables: numbers and provenance lines (no timestamps, no absolute paths)
            assert COMMIT.sub("", path.read_text()) == COMMIT.sub("", other.read_text()), (
                f"{name} differs"
            )


def test_deterministic_switch(monkeypatch):
    """config ``deterministic: true`` -> job_device turns on deterministic kernels."""
    from deepftle.pipeline.devices import job_device

    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    try:
        with job_device("cpu", deterministic=True) as device:
            assert device.type == "cpu"
            assert torch.are_deterministic_algorithms_enabled()
            assert __import__("os").environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    finally:
        torch.use_deterministic_algorithms(False)
    with job_device("cpu"):  # default (no config): unchanged
        assert not torch.are_deterministic_algorithms_enabled()
