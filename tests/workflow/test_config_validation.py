"""Broken configurations are rejected before any job runs, and the message names the key.

Each case is a ``--configfile`` override (deep-merged onto config.yaml, as a user would write
it), or, for a missing required key, a full config with that key deleted passed with
``--replace-workflow-config``. All cases run ``snakemake -n`` in their own empty work
directory, two at a time; the parametrised tests then check one case each.
A top-level key that was renamed (``RENAMED_KEYS`` of workflow/rules/validate.smk) is
rejected the same way, by a message that names the new key and the config file holding the old.
"""

from __future__ import annotations

import ast
import copy
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEFAULTS = yaml.safe_load((ROOT / "config.yaml").read_text())


def _without(*path):
    """The whole default config with one key deleted (for --replace-workflow-config)."""
    cfg = copy.deepcopy(DEFAULTS)
    node = cfg
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return cfg


# id: (config written to the file, replace the workflow config?, key the message must name)
CASES = {
    "top-unknown-key": ({"devise": "cpu"}, False, "devise"),
    "device-bad-enum": ({"device": "gpu"}, False, "device"),
    "deterministic-wrong-type": ({"deterministic": "yes"}, False, "deterministic"),
    "circle-section-not-a-mapping": ({"circle": [1, 2]}, False, "circle"),
    "circle-unknown-key": ({"circle": {"fig2": {"widht": 5}}}, False, "circle.fig2.widht"),
    "circle-unknown-section": ({"circle": {"fig5": {"epochs": 1}}}, False, "circle.fig5"),
    "width-list-with-string": (
        {"circle": {"fig2": {"widths": [5, "a"]}}},
        False,
        "circle.fig2.widths[1]",
    ),
    "empty-depth-list": ({"circle": {"fig2": {"depths": []}}}, False, "circle.fig2.depths"),
    "depth-zero-in-list": (
        {"circle": {"fig2": {"depths": [2, 0]}}},
        False,
        "circle.fig2.depths[1]",
    ),
    "width-zero": ({"circle": {"fig3b": {"width": 0}}}, False, "circle.fig3b.width"),
    "negative-epochs": ({"circle": {"fig2": {"epochs": -1}}}, False, "circle.fig2.epochs"),
    "fractional-epochs": ({"circle": {"fig3a": {"epochs": 2.5}}}, False, "circle.fig3a.epochs"),
    "lr-zero": ({"circle": {"train": {"lr": 0}}}, False, "circle.train.lr"),
    "lr-string": ({"mnist": {"train": {"lr": "fast"}}}, False, "mnist.train.lr"),
    "grid-1": ({"circle": {"field": {"grid": 1}}}, False, "circle.field.grid"),
    "fraction-zero": ({"circle": {"ridges": {"top": 0}}}, False, "circle.ridges.top"),
    "fraction-above-one": (
        {"mnist": {"fig4": {"box_fraction": 1.5}}},
        False,
        "mnist.fig4.box_fraction",
    ),
    "optimiser-bad-enum": (
        {"circle": {"train": {"optimizer": "rmsprop"}}},
        False,
        "circle.train.optimizer",
    ),
    "activation-bad-enum": (
        {"mnist": {"train": {"activation": "sigmoid"}}},
        False,
        "mnist.train.activation",
    ),
    "projection-bad-enum": ({"mnist": {"tsne": {"embed": "umap"}}}, False, "mnist.tsne.embed"),
    "depth-as-string": ({"mnist": {"train": {"depth": "16"}}}, False, "mnist.train.depth"),
    "mnist-unknown-key": (
        {"mnist": {"tsne": {"perplexityy": 30}}},
        False,
        "mnist.tsne.perplexityy",
    ),
    "duplicate-seeds": ({"circle": {"fig3a": {"seeds": [0, 0]}}}, False, "circle.fig3a.seeds"),
    "bad-checksum": (
        {
            "datasets": {
                "mnist": {
                    "checksums": {
                        "train-images-idx3-ubyte": "0" * 64,
                        "train-labels-idx1-ubyte": "0" * 64,
                        "t10k-images-idx3-ubyte": "0" * 64,
                        "t10k-labels-idx1-ubyte": "xyz",
                    }
                }
            }
        },
        False,
        "datasets.mnist.checksums.t10k-labels-idx1-ubyte",
    ),
    "figS2-arch-bad-enum": ({"mnist": {"figS2": {"arch": "vit"}}}, False, "mnist.figS2.arch"),
    "figS2-one-channel": (
        {"mnist": {"figS2": {"cnn": {"channels": [8]}}}},
        False,
        "mnist.figS2.cnn.channels",
    ),
    "analysis-unknown-key": (
        {
            "analyses": {
                "mine": dict(
                    {
                        "data": {"npz": "a.npz"},
                        "model": {"builder": "a.py:f"},
                        "checkpoints": ["a.pt"],
                    },
                    colour=1,
                )
            }
        },
        False,
        "analyses.mine.colour",
    ),
    "analysis-no-nets": (
        {"analyses": {"mine": {"data": {"set": "mnist"}, "model": {"builder": "a.py:f"}}}},
        False,
        "analyses.mine",
    ),
    "analysis-name-taken": (
        {
            "analyses": {
                "mnist-cnn": {
                    "data": {"npz": "a.npz"},
                    "model": {"builder": "a.py:f"},
                    "checkpoints": ["a.pt"],
                }
            }
        },
        False,
        "analyses.mnist-cnn: the name is taken",
    ),
    "missing-top-level-key": (_without("device"), True, "device"),
    "missing-circle-key": (_without("circle", "seed"), True, "circle.seed"),
    "missing-mnist-key": (_without("mnist", "train", "epochs"), True, "mnist.train.epochs"),
    "missing-figS2-key": (
        _without("mnist", "figS2", "min_accuracy"),
        True,
        "mnist.figS2.min_accuracy",
    ),
}


def _renamed_keys() -> dict:
    """RENAMED_KEYS of workflow/rules/validate.smk (old dotted key -> new)."""
    text = (ROOT / "workflow/rules/validate.smk").read_text()
    found = re.search(r"^RENAMED_KEYS = (\{.*?^\})", text, re.S | re.M)
    assert found, "workflow/rules/validate.smk defines no RENAMED_KEYS"
    return ast.literal_eval(found.group(1))


RENAMED_KEYS = _renamed_keys()


def _nested(dotted: str, value) -> dict:
    """{"a": {"b": value}} of "a.b"."""
    for part in reversed(dotted.split(".")):
        value = {part: value}
    return value


def _dry_run(workdir: Path, cfg: dict, replace: bool, target: str = "all"):
    workdir.mkdir(parents=True)
    (workdir / "override.yaml").write_text(yaml.safe_dump(cfg))
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(workdir / "override.yaml"),
        "--cores",
        "1",
        "-n",
        target,
    ]
    if replace:
        cmd.append("--replace-workflow-config")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every case, plus a valid control, run two at a time (one process each, ~3 s idle)."""
    base = tmp_path_factory.mktemp("configs")
    jobs = dict(CASES)
    # a renamed key in a user's config (the section as it was before the rename)
    jobs.update(
        {
            f"renamed-{old}": (_nested(old, DEFAULTS.get(new, {})), False, None)
            for old, new in RENAMED_KEYS.items()
        }
    )
    jobs["valid-control"] = (
        yaml.safe_load((ROOT / "tests/config/test.yaml").read_text()),
        False,
        None,
    )
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            name: pool.submit(
                _dry_run, base / name, cfg, replace, "fig1" if name == "valid-control" else "all"
            )
            for name, (cfg, replace, _) in jobs.items()
        }
        return {name: (base / name, f.result()) for name, f in futures.items()}


def test_enough_cases():
    assert len(CASES) >= 15


def test_renamed_keys():
    assert RENAMED_KEYS.get("toy") == "circle"
    assert RENAMED_KEYS.get("mnist.data") == "datasets.mnist"


@pytest.mark.parametrize("old", sorted(RENAMED_KEYS))
def test_renamed_key_is_rejected_naming_the_new_one(runs, old):
    workdir, run = runs[f"renamed-{old}"]
    out = run.stdout + run.stderr
    assert run.returncode != 0, out[-3000:]
    expected = (
        f"invalid configuration: config key '{old}' was renamed to '{RENAMED_KEYS[old]}' "
        f"(config file {workdir / 'override.yaml'}); rename it there"
    )
    assert expected in out, out[-3000:]
    # rejected before planning: no job listed, nothing written in the work directory
    assert "Job stats" not in out and "rule " not in out
    assert sorted(p.name for p in workdir.iterdir() if p.name != ".snakemake") == ["override.yaml"]


def test_valid_config_passes_the_same_check(runs):
    workdir, run = runs["valid-control"]
    assert run.returncode == 0, run.stderr[-3000:]
    assert "circle_data" in run.stdout + run.stderr  # a real plan was made (dry run)


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_config_is_rejected_naming_the_key(runs, case):
    _, _, key = CASES[case]
    workdir, run = runs[case]
    out = run.stdout + run.stderr
    assert run.returncode != 0, out[-3000:]
    assert "invalid configuration" in out, out[-3000:]
    line = next(ln for ln in out.splitlines() if "invalid configuration" in ln)
    assert key in line, f"message does not name {key!r}: {line}"
    # rejected before planning: no job listed, nothing written in the work directory
    assert "Job stats" not in out and "rule " not in out
    assert sorted(p.name for p in workdir.iterdir() if p.name != ".snakemake") == ["override.yaml"]
