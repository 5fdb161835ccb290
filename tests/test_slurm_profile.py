"""The SLURM profile sends every rule that may use a GPU to the GPU partition: a rule that
declares ``resources: gpu=GPU`` but is missing from the profile's ``set-resources`` would ask
for a GPU on the CPU partition."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def gpu_rules() -> set[str]:
    """Names of the rules whose resources hold ``gpu=GPU`` (loops over ``_exp`` expanded)."""
    names = set()
    for smk in (ROOT / "workflow" / "rules").glob("*.smk"):
        text = smk.read_text()
        loop = re.search(r"for _exp in \(([^)]*)\)", text)
        exps = re.findall(r'"([^"]+)"', loop.group(1)) if loop else []
        # a rule block runs from its header to the next header or top-level statement
        for block in re.split(r"\n(?=\s*rule\b)", text):
            if not re.search(r"^\s+gpu=GPU,", block, re.M):
                continue
            head = re.match(r"\s*rule\s+(\w+)\s*:", block)
            if head:
                names.add(head.group(1))
                continue
            templ = re.search(r'name:\s*\n\s*f"([^"]+)"', block)
            assert templ, f"{smk.name}: a GPU rule without a readable name:\n{block[:200]}"
            names.update(templ.group(1).replace("{_exp}", e) for e in exps)
    return names


def test_every_gpu_rule_is_on_the_gpu_partition():
    profile = yaml.safe_load((ROOT / "workflow/profiles/slurm/config.yaml").read_text())
    res = profile["set-resources"]
    rules = gpu_rules()
    assert {"train_toy", "ftle_mnist", "train_toy_group_fig3b", "train_mnist_figS2"} <= rules
    missing = sorted(r for r in rules if r not in res)
    assert not missing, f"GPU rules missing from set-resources of the SLURM profile: {missing}"
    wrong = sorted(r for r in rules if res[r].get("slurm_partition") != "gpu"
                   or res[r].get("gpu") != 1)
    assert not wrong, f"GPU rules not on the gpu partition with gpu: 1: {wrong}"
    stale = sorted(set(res) - rules)
    assert not stale, f"set-resources names rules that declare no GPU: {stale}"
