"""docs/configuration.md is generated from the schemas and documents every key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docs" / "config_reference.py"


def _keys(node: dict, path: tuple = ()) -> set:
    if isinstance(node, dict):
        out = set()
        for k, v in node.items():
            out |= _keys(v, path + (k,)) if isinstance(v, dict) and v else {".".join(path + (k,))}
        return out
    return {".".join(path)}


def test_page_is_current():
    run = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_every_key_of_config_yaml_is_documented():
    page = (ROOT / "docs" / "configuration.md").read_text()
    rows = {line.split("`")[1]: line for line in page.splitlines() if line.startswith("| `")}
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    for key in _keys(config):
        row = rows.get(key)
        if row is None:  # a free-form mapping (e.g. an inline dict value) is documented above it
            parent = key.rsplit(".", 1)[0]
            assert parent in rows or f"**`{parent}`**" in page, key
            continue
        description = row.rstrip(" |").rsplit(" | ", 1)[-1].strip()
        assert description and not description.startswith("`"), f"{key} has no description"


def test_check_fails_on_a_stale_page(tmp_path, monkeypatch):
    sys.path.insert(0, str(SCRIPT.parent))
    import config_reference

    monkeypatch.setattr(config_reference, "PAGE", tmp_path / "configuration.md")
    (tmp_path / "configuration.md").write_text("stale\n")
    assert config_reference.main(["--check"]) == 1
    assert config_reference.main([]) == 0 and config_reference.main(["--check"]) == 0
