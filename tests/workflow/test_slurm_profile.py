"""The SLURM profile sends every GPU rule, and only those, to the GPU partition with one GPU.

GPU rules are the ones whose resources come from ``gpu_resources()`` (workflow/rules/common.smk);
the profile names the partition once (``slurm_gpu_partition``). Checked on the jobs of a dry run
of the tiny Figures 1-4, S1, S2 configuration with the profile's config entries."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
PROFILE = ROOT / "workflow/profiles/slurm/config.yaml"
# rules that train a net or compute FTLEs: each must be a GPU rule
MUST_BE_GPU = {
    "train_circle",
    "train_circle_group_fig2",
    "train_circle_group_fig3a",
    "train_circle_group_fig3b",
    "train_circle_group_figS1",
    "ftle_field",
    "ftle_snapshots",
    "crossover",
    "train_mnist",
    "train_mnist_main",
    "train_mnist_member",
    "train_mnist_ensemble",
    "train_mnist_width",
    "ftle_mnist",
    "ftle_mnist_mains",
    "width_sweep",
    "bottleneck_mnist",
    "adversarial_path",
    "attack_paths",
    "train_analysis_net",
    "ftle_analysis",
    "bottleneck_analysis",
}


def _profile_config() -> list[str]:
    entries = yaml.safe_load(PROFILE.read_text())["config"]
    assert any(e.startswith("slurm_gpu_partition=") for e in entries), entries
    return entries


def _dry_run_resources(tmp_path, extra: list[str]) -> dict[str, set[str]]:
    """rule -> the set of resource strings its jobs declare, from `snakemake -n`."""
    proc = subprocess.run(
        [
            SNAKEMAKE,
            "--snakefile",
            str(ROOT / "Snakefile"),
            "--directory",
            str(tmp_path),
            "-n",
            "--forceall",
            "--configfile",
            str(ROOT / "tests/config/test.yaml"),
            "--config",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out, rule = {}, None
    for line in proc.stdout.splitlines():
        head = re.match(r"^(?:local)?rule (\w+):", line)
        if head:
            rule = head.group(1)
            out.setdefault(rule, set())
        elif rule and line.strip().startswith("resources:"):
            out[rule] |= {r.strip() for r in line.split(":", 1)[1].split(",")}
    return out


@pytest.mark.timeout(300)
def test_gpu_rules_and_only_they_go_to_the_gpu_partition(tmp_path):
    entries = _profile_config()
    partition = next(e for e in entries if e.startswith("slurm_gpu_partition=")).split("=")[1]
    res = _dry_run_resources(tmp_path, entries)
    on_gpu = {r for r, rs in res.items() if f"slurm_partition={partition}" in rs}
    with_gpu = {r for r, rs in res.items() if "gpu=1" in rs}
    assert on_gpu == with_gpu, on_gpu ^ with_gpu
    assert {
        "train_circle",
        "train_circle_group_fig3b",
        "ftle_mnist",
        "train_analysis_net",
    } <= on_gpu
    missing = sorted((MUST_BE_GPU & set(res)) - on_gpu)
    assert not missing, f"rules that train or compute FTLEs but are not GPU rules: {missing}"
    stray = sorted(on_gpu - MUST_BE_GPU)
    assert not stray, f"GPU rules that neither train nor compute FTLEs: {stray}"


@pytest.mark.timeout(300)
def test_without_the_profile_no_rule_names_a_partition(tmp_path):
    res = _dry_run_resources(tmp_path, ["device=cpu"])
    named = sorted(r for r, rs in res.items() if any(s.startswith("slurm_partition") for s in rs))
    assert not named, named
    assert not any("gpu=1" in rs for rs in res.values())
