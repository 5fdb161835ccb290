"""Compare the outputs of two runs of the pipeline: ``compare.py LOCAL_DIR SLURM_DIR``
(``--rtol R --atol A --labels cpu,cuda`` for other pairs of runs, e.g. tests/gpu/run.sh).

Walks ``results/`` of both working directories and compares every data file that the
pipeline writes: ``.npz`` arrays and ``.pt`` networks (allclose; provenance ignored), ``.tsv``
tables (numeric columns allclose, others equal; provenance lines and timing columns ignored)
and ``.pkl`` files (must exist in both). Figures, logs and benchmarks are not compared (they
hold timestamps and timings). Exits 1 on any difference.
"""

from __future__ import annotations

import fnmatch
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

RTOL, ATOL = 1e-5, 1e-7
SKIP_DIRS = {"logs", "benchmarks"}
TIMING = re.compile(
    r"(^|_)(time|times|seconds|sec|s_wall|wall|elapsed|date|host|duration)($|_)", re.I
)


NORMWISE = False  # --normwise: |a - b| <= atol + rtol * max|b| over the whole array
VALUES_SKIP: tuple[str, ...] = ()  # --values-skip: only names, keys, shapes and columns


def _close(a, b) -> tuple[bool, float]:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False, float("inf")
    if a.dtype.kind in "fc" or b.dtype.kind in "fc":
        a64, b64 = (
            a.astype(np.complex128 if a.dtype.kind == "c" else np.float64),
            b.astype(np.complex128 if b.dtype.kind == "c" else np.float64),
        )
        finite = np.isfinite(a64) & np.isfinite(b64)
        diff = float(np.max(np.abs(a64[finite] - b64[finite]))) if finite.any() else 0.0
        if NORMWISE:
            same_pattern = np.array_equal(np.isfinite(a64), np.isfinite(b64)) and np.array_equal(
                a64[~finite], b64[~finite], equal_nan=True
            )
            scale = float(np.max(np.abs(b64[finite]))) if finite.any() else 0.0
            return same_pattern and diff <= ATOL + RTOL * scale, diff
        ok = np.allclose(a64, b64, rtol=RTOL, atol=ATOL, equal_nan=True)
        return ok, diff
    return bool(np.array_equal(a, b)), 0.0


def compare_npz(x: Path, y: Path):
    with np.load(x, allow_pickle=False) as a, np.load(y, allow_pickle=False) as b:
        keys = sorted(set(a.files) - {"__provenance__"})
        if keys != sorted(set(b.files) - {"__provenance__"}):
            return False, f"keys {keys} vs {sorted(b.files)}"
        worst = 0.0
        for k in keys:
            ok, d = _close(a[k], b[k])
            if not ok:
                return False, f"array {k!r} differs (max |diff| {d:g})"
            worst = max(worst, d)
    return True, f"{len(keys)} arrays, max |diff| {worst:g}"


def compare_pt(x: Path, y: Path):
    import torch

    a = torch.load(x, map_location="cpu", weights_only=False)
    b = torch.load(y, map_location="cpu", weights_only=False)
    flat_a, flat_b = _flatten(a), _flatten(b)
    if sorted(flat_a) != sorted(flat_b):
        return False, "different keys"
    worst, n = 0.0, 0
    for k, va in flat_a.items():
        vb = flat_b[k]
        if "provenance" in k.split("."):  # git commit, host, time: may differ between runs
            continue
        if isinstance(va, torch.Tensor):
            ok, d = _close(va.detach().numpy(), vb.detach().numpy())
            n += 1
            worst = max(worst, d)
            if not ok:
                return False, f"tensor {k!r} differs (max |diff| {d:g})"
        elif isinstance(va, (int, float, str, bool, type(None))) and not TIMING.search(k):
            if va != vb and not (isinstance(va, float) and np.isclose(va, vb, RTOL, ATOL)):
                return False, f"{k!r}: {va!r} vs {vb!r}"
    return True, f"{n} tensors, max |diff| {worst:g}"


def _flatten(obj, prefix=""):
    out = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}{k}."))
    elif isinstance(obj, (list, tuple)) and not any(isinstance(v, (dict, list)) for v in obj):
        out[prefix.rstrip(".")] = str(obj)
    else:
        out[prefix.rstrip(".")] = obj
    return out


def compare_tsv(x: Path, y: Path):
    a = pd.read_csv(x, sep="\t", comment="#")
    b = pd.read_csv(y, sep="\t", comment="#")
    if list(a.columns) != list(b.columns) or a.shape != b.shape:
        return False, f"shape/columns {a.shape} {list(a.columns)} vs {b.shape} {list(b.columns)}"
    worst = 0.0
    for col in a.columns:
        if TIMING.search(str(col)):
            continue
        if pd.api.types.is_numeric_dtype(a[col]) and pd.api.types.is_numeric_dtype(b[col]):
            ok, d = _close(a[col].to_numpy(), b[col].to_numpy())
            worst = max(worst, d)
        else:
            ok, d = a[col].astype(str).equals(b[col].astype(str)), 0.0
        if not ok:
            return False, f"column {col!r} differs (max |diff| {d:g})"
    return True, f"{a.shape[0]} rows, max |diff| {worst:g}"


def _same_layout(x: Path, y: Path):
    """Names, keys, shapes and columns only (for stages whose values are chaotic)."""
    if x.suffix == ".npz":
        with np.load(x, allow_pickle=False) as a, np.load(y, allow_pickle=False) as b:
            sa = {k: a[k].shape for k in a.files if k != "__provenance__"}
            sb = {k: b[k].shape for k in b.files if k != "__provenance__"}
        return sa == sb, f"arrays {sa}" if sa == sb else f"arrays {sa} vs {sb}"
    if x.suffix == ".tsv":
        a = pd.read_csv(x, sep="\t", comment="#")
        b = pd.read_csv(y, sep="\t", comment="#")
        same = list(a.columns) == list(b.columns) and a.shape == b.shape
        return same, f"shape {a.shape}" if same else f"shape {a.shape} vs {b.shape}"
    return True, "present in both"


def main(
    local: str,
    slurm: str,
    rtol: float = RTOL,
    atol: float = ATOL,
    labels: tuple[str, str] = ("local", "SLURM"),
    normwise: bool = False,
    values_skip: tuple[str, ...] = (),
) -> int:
    global RTOL, ATOL, NORMWISE, VALUES_SKIP
    RTOL, ATOL, NORMWISE, VALUES_SKIP = rtol, atol, normwise, tuple(values_skip)
    ra, rb = Path(local) / "results", Path(slurm) / "results"
    checkers = {".npz": compare_npz, ".pt": compare_pt, ".tsv": compare_tsv}

    def data_files(root):
        return {
            p.relative_to(root)
            for p in root.rglob("*")
            if p.is_file()
            and not SKIP_DIRS & set(p.relative_to(root).parts)
            and (p.suffix in checkers or p.suffix in {".pkl", ".pdf", ".png"})
        }

    fa, fb = data_files(ra), data_files(rb)
    failures = [f"only in {labels[0]} run: {p}" for p in sorted(fa - fb)]
    failures += [f"only in {labels[1]} run: {p}" for p in sorted(fb - fa)]
    compared = 0
    for rel in sorted(fa & fb):
        check = checkers.get(rel.suffix)
        if check is None:
            continue
        if any(fnmatch.fnmatch(str(rel), pat) for pat in VALUES_SKIP):
            ok, msg = _same_layout(ra / rel, rb / rel)
            msg = "values not compared (--values-skip); " + msg
        else:
            ok, msg = check(ra / rel, rb / rel)
        compared += 1
        print(f"  {'ok  ' if ok else 'DIFF'} {rel}: {msg}")
        if not ok:
            failures.append(f"{rel}: {msg}")
    if not compared:
        failures.append("no data files to compare")
    for f in failures:
        print(f"FAIL {f}")
    verdict = (
        "identical within rtol=%g atol=%g%s" % (RTOL, ATOL, " (normwise)" if NORMWISE else "")
        if not failures
        else "DIFFERENT"
    )
    print(f"compared {compared} data files ({len(fa & fb)} outputs incl. figures): {verdict}")
    return 1 if failures else 0


def cli(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("first", help="working directory of the first run (holds results/)")
    ap.add_argument("second", help="working directory of the second run")
    ap.add_argument("--rtol", type=float, default=RTOL)
    ap.add_argument("--atol", type=float, default=ATOL)
    ap.add_argument("--labels", default="local,SLURM", help="names of the two runs")
    ap.add_argument(
        "--normwise",
        action="store_true",
        help="tolerance relative to each array's largest entry, not elementwise",
    )
    ap.add_argument(
        "--values-skip",
        nargs="*",
        default=[],
        metavar="GLOB",
        help="files (relative to results/) compared by layout only",
    )
    a = ap.parse_args(argv)
    labels = tuple(a.labels.split(","))
    if len(labels) != 2:
        ap.error(f"--labels needs two comma-separated names, got {a.labels!r}")
    return main(a.first, a.second, a.rtol, a.atol, labels, a.normwise, tuple(a.values_skip))


if __name__ == "__main__":
    sys.exit(cli())
