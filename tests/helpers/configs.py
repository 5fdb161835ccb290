"""Write the tiny test configs of every figure for a run outside pytest's fixtures.

``python tests/helpers/configs.py OUTDIR`` writes OUTDIR/mnist-data/ (synthetic MNIST-format
IDX files, no network), OUTDIR/test_mnist.yaml (tests/config/test_mnist.yaml pointing at them,
with their checksums) and OUTDIR/test_all.yaml (circle section of tests/config/test.yaml plus that
mnist section: Figures 1-4 in one run). Prints the two config paths.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from helpers.mnist_synthetic import write_synthetic_mnist  # noqa: E402


def write_configs(out: str | Path) -> tuple[Path, Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    checksums = write_synthetic_mnist(out / "mnist-data", n_train=300, n_test=100, gz=True)
    mnist = yaml.safe_load((ROOT / "tests/config/test_mnist.yaml").read_text())
    for key in ("mnist", "fashion_mnist"):
        mnist["datasets"][key]["local"] = str((out / "mnist-data").resolve())
        mnist["datasets"][key]["checksums"] = checksums
    mnist_cfg = out / "test_mnist.yaml"
    # key order kept: Snakemake compares params (dicts) by their text, so sorting keys would
    # make runs with tests/config/test.yaml look like a parameter change
    mnist_cfg.write_text(yaml.safe_dump(mnist, sort_keys=False))
    both = yaml.safe_load((ROOT / "tests/config/test.yaml").read_text())
    both["mnist"], both["datasets"] = mnist["mnist"], mnist["datasets"]
    all_cfg = out / "test_all.yaml"
    all_cfg.write_text(yaml.safe_dump(both, sort_keys=False))
    return mnist_cfg, all_cfg


if __name__ == "__main__":
    for p in write_configs(sys.argv[1]):
        print(p)
