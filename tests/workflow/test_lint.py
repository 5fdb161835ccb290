"""`snakemake --lint` has nothing to say about our workflow (Snakefile and workflow/rules/)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


@pytest.mark.timeout(300)
def test_snakemake_lint_is_clean(tmp_path):
    proc = subprocess.run(
        [
            SNAKEMAKE,
            "--snakefile",
            str(ROOT / "Snakefile"),
            "--directory",
            str(tmp_path),
            "--lint",
            "--configfile",
            str(ROOT / "tests/config/test.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=280,
    )
    out = proc.stdout + proc.stderr
    assert "Lints for" not in out, out
    assert proc.returncode == 0, out
