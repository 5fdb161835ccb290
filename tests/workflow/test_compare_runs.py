"""tests/slurm/compare.py, which judges two pipeline runs (SLURM vs local in make test-slurm,
CUDA vs CPU in make test-gpu): files present in both, arrays within the stated tolerances."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
COMPARE = ROOT / "tests" / "slurm" / "compare.py"


def _run_dir(path: Path, lam, acc, extra=False):
    res = path / "results"
    (res / "circle").mkdir(parents=True)
    (res / "logs").mkdir()
    np.savez(res / "circle" / "lam.npz", lam=np.asarray(lam))
    (res / "circle" / "acc.tsv").write_text(f"net\taccuracy\tseconds\nA\t{acc}\t{acc * 7}\n")
    (res / "logs" / "x.log").write_text(str(lam))  # logs are never compared
    if extra:
        np.savez(res / "circle" / "only_here.npz", a=np.zeros(1))
    return path


def _compare(a, b, *args):
    return subprocess.run(
        [sys.executable, str(COMPARE), str(a), str(b), *args], capture_output=True, text=True
    )


def test_equal_runs_pass_and_timing_columns_are_ignored(tmp_path):
    a = _run_dir(tmp_path / "a", [0.1, -0.2], 0.99)
    b = _run_dir(tmp_path / "b", [0.1, -0.2], 0.99)
    out = _compare(a, b)
    assert out.returncode == 0, out.stdout
    assert "compared 2 data files" in out.stdout


def test_tolerances_decide(tmp_path):
    a = _run_dir(tmp_path / "a", [0.1, -0.2], 0.99)
    b = _run_dir(tmp_path / "b", [0.1 + 3e-5, -0.2], 0.99)
    tight = _compare(a, b)
    assert tight.returncode == 1 and "array 'lam' differs" in tight.stdout
    loose = _compare(a, b, "--rtol", "1e-3", "--atol", "1e-4", "--labels", "cpu,cuda")
    assert loose.returncode == 0, loose.stdout
    assert "rtol=0.001 atol=0.0001" in loose.stdout


def test_a_file_in_one_run_only_fails_naming_the_run(tmp_path):
    a = _run_dir(tmp_path / "a", [0.1], 0.99)
    b = _run_dir(tmp_path / "b", [0.1], 0.99, extra=True)
    out = _compare(a, b, "--labels", "cpu,cuda")
    assert out.returncode == 1
    assert "only in cuda run: circle/only_here.npz" in out.stdout


def test_bad_labels_are_refused(tmp_path):
    a = _run_dir(tmp_path / "a", [0.1], 0.99)
    out = _compare(a, a, "--labels", "cpu")
    assert out.returncode == 2 and "two comma-separated names" in out.stderr


def test_normwise_tolerance_scales_with_the_largest_entry(tmp_path):
    """An ill-conditioned array (a least-squares readout): a small entry moves by more than
    rtol of itself but not of the array's largest entry."""
    a = _run_dir(tmp_path / "a", [50.0, 1e-3], 0.99)
    b = _run_dir(tmp_path / "b", [50.0, 1e-3 + 2e-3], 0.99)
    assert _compare(a, b, "--rtol", "1e-3", "--atol", "0").returncode == 1
    out = _compare(a, b, "--rtol", "1e-3", "--atol", "0", "--normwise")
    assert out.returncode == 0, out.stdout
    assert "(normwise)" in out.stdout
    c = _run_dir(tmp_path / "c", [50.0, float("nan")], 0.99)  # a new NaN is never close
    assert _compare(a, c, "--rtol", "1", "--normwise").returncode == 1


def test_values_skip_compares_layout_only(tmp_path):
    a = _run_dir(tmp_path / "a", [0.1, -0.2], 0.99)
    b = _run_dir(tmp_path / "b", [5.0, 7.0], 0.99)
    assert _compare(a, b).returncode == 1
    out = _compare(a, b, "--values-skip", "circle/lam.npz")
    assert out.returncode == 0, out.stdout
    assert "values not compared" in out.stdout
    c = _run_dir(tmp_path / "c", [0.1, -0.2, 0.3], 0.99)  # another shape still fails
    assert _compare(a, c, "--values-skip", "circle/lam.npz").returncode == 1
