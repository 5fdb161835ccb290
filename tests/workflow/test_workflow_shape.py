"""Every rule looks alike: a script of workflow/scripts/ named like the rule, run inside
``deepftle.pipeline.job.job`` (one dialect: ``sm = snakemake``), calling the library; no rule
repeats what the profiles or common.smk own."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RULES = sorted((ROOT / "workflow" / "rules").glob("*.smk"))
SCRIPTS = sorted((ROOT / "workflow" / "scripts").glob("*.py"))
# scripts shared by the rules a loop makes from them: script -> pattern of those rule names
SHARED = {
    "train_circle_group": r"train_circle_group_\{_exp\}",
    "train_mnist": r"train_mnist_\{_kind\}",
    "claims_figure": r"claims_figS[23]",
}


def _rule_script_pairs():
    """(rule name or name template, script stem) of every rule with a script."""
    pairs = []
    for smk in RULES:
        text = smk.read_text()
        for block in re.split(r"\n(?=\s*rule\b)", text):
            script = re.search(r'script:\s*\n\s*"\.\./scripts/(\w+)\.py"', block)
            if not script:
                continue
            head = re.match(r"\s*rule\s+(\w+)\s*:", block)
            name = head.group(1) if head else re.search(r'name:\s*\n\s*f"([^"]+)"', block).group(1)
            pairs.append((name, script.group(1)))
    return pairs


def test_every_script_is_named_like_its_rule():
    pairs = _rule_script_pairs()
    assert len(pairs) > 25
    wrong = [
        (rule, script)
        for rule, script in pairs
        if rule != script
        and not re.fullmatch(SHARED.get(script, "(?!)"), rule)
        and not (script in SHARED and rule == script)
    ]
    assert not wrong, f"rules whose script is named otherwise: {wrong}"
    used = {script for _, script in pairs}
    assert used == {p.stem for p in SCRIPTS}, {p.stem for p in SCRIPTS} ^ used


def test_every_script_runs_in_a_job_and_speaks_one_dialect():
    for path in SCRIPTS:
        text = path.read_text()
        tree = ast.parse(text)
        assert ast.get_docstring(tree), f"{path.name}: no docstring saying what the rule makes"
        assert "sm = snakemake  # noqa: F821" in text, f"{path.name}: not the `sm` dialect"
        assert re.search(r"^with job\(sm(, device=True)?\)", text, re.M), (
            f"{path.name}: the body does not run inside job(sm)"
        )
        for owned in ("log_to(", "job_device(", "set_num_threads(", "snakemake."):
            assert owned not in text, f"{path.name}: {owned} belongs to deepftle.pipeline.job"
        assert re.search(r"^from deepftle\.", text, re.M), path.name


def test_rules_leave_defaults_to_the_profiles():
    for smk in RULES:
        text = smk.read_text()
        assert not re.search(r"^\s+threads: 1\s*$", text, re.M), f"{smk.name}: threads: 1"
        assert "gpu=GPU" not in text and "GPU = " not in text, smk.name
        for m in re.finditer(r"resources:\n((?:\s+[^\n]+,\n)+)", text):
            for item in re.findall(r"(\w+)=", m.group(1)):
                assert item in ("runtime", "mem_mb"), f"{smk.name}: resource {item} by hand"
    # the target list has one owner
    for smk in RULES:
        assert "ALL_TARGETS" not in smk.read_text() and "CLAIM_FILES" not in smk.read_text()


# rules whose logic is not a stage function: the figures (deepftle.plots), the data sources
# (deepftle.images.data, deepftle.images.cifar) and the claims table (deepftle.pipeline.claims)
NOT_STAGES = ("plot_", "mnist_data", "fashion_mnist_data", "cifar10_data", "claims")


def test_every_stage_script_calls_the_stage_function_named_like_its_rule():
    from deepftle.circle import stages as circle_stages
    from deepftle.images import analysis as analysis_stages
    from deepftle.images import stages as mnist_stages

    for path in SCRIPTS:
        if path.stem.startswith(NOT_STAGES[0]) or path.stem in NOT_STAGES[1:]:
            continue
        calls = {
            node.func.attr
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in ("stages", "analysis")
        }
        # one function serves the solo and the population training of a problem's nets
        name = {"train_circle_group": "train_circle"}.get(path.stem, path.stem)
        owner = next(
            (m for m in (circle_stages, analysis_stages) if hasattr(m, name)), mnist_stages
        )
        assert name in calls, f"{path.name} calls {sorted(calls)}, not stages.{name}"
        assert callable(getattr(owner, name, None)), f"no stage function {name}"
        assert name in owner.__all__, f"{owner.__name__}.{name} is not public"
