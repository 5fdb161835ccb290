"""Every tensor the library and the pipeline scripts create lands on the job's device.

A torch factory call (``torch.zeros``, ``randn``, ``arange``, ``tensor``, ``as_tensor``, ...)
without ``device=`` passes only if its result is moved at once (``torch.randn(...).to(x.device)``,
``p.copy_(torch.randn(...))``) or if the function it sits in is listed in HOST below with the
reason it stays on the CPU. Random streams use CPU generators on purpose (the same numbers on
every device), so a factory call that passes ``generator=`` must not also ask for another
device: that combination fails on CUDA only.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "src" / "deepftle").rglob("*.py")) + sorted(
    (ROOT / "workflow" / "scripts").glob("*.py")
)
FACTORIES = {
    "zeros",
    "ones",
    "empty",
    "full",
    "arange",
    "eye",
    "randn",
    "rand",
    "randint",
    "randperm",
    "tensor",
    "linspace",
    "logspace",
    "as_tensor",
    "from_numpy",
    "normal",
    "Generator",
}

# (file, enclosing function) -> why its device-less tensors are right on the CPU
HOST = {
    ("images/data.py", "pixels"): "images are loaded on the CPU; jobs move them",
    ("images/datasets.py", "inputs"): "the stored inputs and their channel statistics on the "
    "CPU, standardised there and moved at once (.to(device))",
    ("nets/population.py", "train_epoch"): "per-member permutations from CPU generators, "
    "moved on the next line (perms.to(x.device))",
    ("nets/population.py", "_evaluate"): "per-member sums accumulated on the CPU (.cpu() of "
    "each batch's loss): a few floats per batch",
    ("ftle/_checks.py", "as_tensor"): "the user's array becomes a tensor (check_points then "
    "moves it: .to(device))",
    ("ftle/_krylov.py", "block_lanczos"): "the random start block is drawn on the CPU (the same "
    "numbers on every device), the warm-start columns "
    "added there, then moved (v.to(device))",
    ("circle/stages.py", "ftle_snapshots"): "test inputs loaded on the CPU; snapshot_lam1 "
    "moves them",
    (
        "circle/stages.py",
        "train_circle",
    ): "the data set loaded on the CPU; train_circle_nets moves it",
}


def _calls(path: Path):
    """(function name, call node, moved at once) for each torch factory call in ``path``."""
    tree = ast.parse(path.read_text())
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}

    def enclosing(node):
        while node in parents:
            node = parents[node]
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return node.name
        return "<module>"

    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in FACTORIES
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "torch"
        ):
            parent = parents.get(node)
            moved = False
            if isinstance(parent, ast.Attribute) and parent.attr in ("to", "cuda"):
                moved = True
            if isinstance(parent, ast.BinOp):  # torch.rand(...) * 2 - 1).to(...)
                up = parent
                while isinstance(parents.get(up), ast.BinOp):
                    up = parents[up]
                moved = isinstance(parents.get(up), ast.Attribute) and parents[up].attr == "to"
            if (
                isinstance(parent, ast.Call)
                and isinstance(parent.func, ast.Attribute)
                and parent.func.attr == "copy_"
            ):
                moved = True
            if (
                isinstance(parent, ast.BinOp)
                and isinstance(parents.get(parent), ast.Call)
                and isinstance(parents[parent].func, ast.Attribute)
                and parents[parent].func.attr == "copy_"
            ):
                moved = True
            yield enclosing(node), node, moved


def _rel(path: Path) -> str:
    src = ROOT / "src" / "deepftle"
    return str(path.relative_to(src)) if src in path.parents else path.name


def test_every_factory_call_is_on_the_jobs_device_or_listed():
    unlisted, used = [], set()
    for path in SOURCES:
        for func, node, moved in _calls(path):
            kws = {k.arg for k in node.keywords}
            if node.func.attr == "Generator" or "device" in kws or moved:
                continue
            key = (_rel(path), func)
            if key in HOST:
                used.add(key)
                continue
            unlisted.append(f"{_rel(path)}:{node.lineno} in {func}(): {ast.unparse(node)[:90]}")
    assert not unlisted, (
        "tensors created without the job's device (pass device=, move "
        "them at once, or list the function in HOST with a reason):\n" + "\n".join(unlisted)
    )
    stale = set(HOST) - used
    assert not stale, f"HOST lists functions that no longer create host tensors: {stale}"


def test_no_cpu_generator_is_combined_with_another_device():
    bad = []
    for path in SOURCES:
        for _func, node, _ in _calls(path):
            kws = {k.arg: k.value for k in node.keywords}
            if "generator" in kws and "device" in kws:
                dev = kws["device"]
                if not (isinstance(dev, ast.Constant) and dev.value == "cpu"):
                    bad.append(f"{_rel(path)}:{node.lineno}: {ast.unparse(node)[:90]}")
    assert not bad, "CPU generators with a non-CPU device= fail on CUDA:\n" + "\n".join(bad)


@pytest.mark.parametrize(
    "snippet, flagged",
    [
        ("import torch\ndef f(x):\n    return torch.zeros(3)\n", True),
        ("import torch\ndef f(x):\n    return torch.zeros(3, device=x.device)\n", False),
        ("import torch\ndef f(x):\n    return torch.randn(3).to(x.device)\n", False),
        ("import torch\ndef f(x):\n    return (torch.rand(3) * 2 - 1).to(x.device)\n", False),
        ("import torch\ndef f(p):\n    p.copy_(torch.randn(3) * 0.1)\n", False),
    ],
)
def test_the_audit_flags_what_it_should(tmp_path, snippet, flagged):
    path = tmp_path / "probe.py"
    path.write_text(snippet)
    found = [
        n
        for _, n, moved in _calls(path)
        if not moved and "device" not in {k.arg for k in n.keywords}
    ]
    assert bool(found) == flagged
