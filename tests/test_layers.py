"""The package's layers: every import inside ``src/deepftle`` points down, and none closes a cycle.

Layers (subpackages of ``deepftle``) and what each may import of the package:

- ``activations`` (a leaf: ``Erf`` and the ``ACTIVATIONS`` table) and ``_version`` (a leaf:
  ``__version__``): nothing;
- ``ftle`` (the engine): itself and ``activations``;
- ``pipeline`` (result files, provenance, job seeds, devices, claims tables): itself, ``ftle``,
  ``activations`` and ``_version`` (provenance records it); ``pipeline/seeds.py`` imports no
  torch;
- ``nets`` (MLP and other architectures, initialisation, checkpoints, training, populations):
  itself, ``ftle``, ``activations``, and ``pipeline.files`` (checkpoints are written atomically,
  as every result file);
- ``circle`` and ``images`` (the circle problem; the image data sets, nets and analyses):
  themselves, ``ftle``, ``activations``, ``nets`` and ``pipeline``; never each other;
- ``plots`` (drawing only): itself and ``pipeline`` (atomic writes); no training code.

No module imports the package root ``deepftle`` (it re-exports the public names and sits above
everything). Function-local imports count as much as top-level ones.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = "deepftle"

ALLOWED = {
    "activations": set(),
    "_version": set(),
    "ftle": {"ftle", "activations"},
    "pipeline": {"pipeline", "ftle", "activations", "_version"},
    "nets": {"nets", "ftle", "activations", "pipeline.files"},
    "circle": {"circle", "ftle", "activations", "nets", "pipeline"},
    "images": {"images", "ftle", "activations", "nets", "pipeline"},
    "plots": {"plots", "pipeline"},
}
TORCH_FREE = {"deepftle.pipeline.seeds"}


def _modules(src: Path = SRC) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package under ``src``."""
    out = {}
    for path in sorted((src / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, known: set[str]) -> list[tuple[str, int]]:
    """``(imported module, line)`` for every import of the package in ``path`` (function-local
    ones included); ``from X import y`` counts as an import of ``X.y`` where that is a module."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                found.append((sub if sub in known else module, node.lineno))
    return [(m, line) for m, line in found if m == PACKAGE or m.startswith(PACKAGE + ".")]


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ALLOWED else None


def _graph(src: Path = SRC) -> dict[str, list[tuple[str, int]]]:
    modules = _modules(src)
    return {m: _imports(m, p, set(modules)) for m, p in modules.items()}


def _allowed(source: str, target: str) -> bool:
    if target == PACKAGE:
        return False
    layer, rest = _layer(source), target[len(PACKAGE) + 1 :]
    return any(rest == a or rest.startswith(a + ".") for a in ALLOWED[layer])


def layering_errors(src: Path = SRC) -> list[str]:
    """Every module outside the layers and every import against them."""
    errors = []
    for module, targets in _graph(src).items():
        if module == PACKAGE:
            continue  # the root re-exports the public names
        if _layer(module) is None:
            errors.append(f"{module}: in no layer (one of {sorted(ALLOWED)})")
            continue
        for target, line in targets:
            if not _allowed(module, target):
                layer = _layer(module)
                errors.append(
                    f"{module}:{line} imports {target} (layer {layer} may import "
                    f"{sorted(ALLOWED[layer])})"
                )
    return errors


def cycles(src: Path = SRC) -> list[list[str]]:
    """Strongly connected components of the module import graph with more than one module (or
    a module importing itself): Tarjan's algorithm."""
    graph = {m: sorted({t for t, _ in ts}) for m, ts in _graph(src).items()}
    index, low, on_stack, stack, out = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph.get(v, ()):
                out.append(sorted(comp))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph) + 100))
    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_between_modules():
    found = cycles()
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_every_import_points_down_the_layers():
    errors = layering_errors()
    assert not errors, "imports against the layering:\n" + "\n".join(errors)


def test_every_layer_exists():
    packages = {m.split(".")[1] for m in _modules() if m.count(".") >= 1}
    assert set(ALLOWED) <= packages


@pytest.mark.parametrize("module", sorted(TORCH_FREE))
def test_seed_module_imports_no_torch(module):
    """The seeds module runs where torch is not wanted (e.g. a Snakefile): loaded on its own, it
    pulls in no torch and nothing of the package."""
    path = _modules()[module]
    assert not [t for t, _ in _imports(module, path, set(_modules()))]
    code = textwrap.dedent(f"""
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location("seeds_alone", {str(path)!r})
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "numpy", "deepftle")))
    """)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"


def test_import_deepftle_loads_no_pipeline_machinery():
    """``import deepftle`` (the library) loads neither snakemake nor the GPU locks (``fcntl``).

    ``fcntl`` is a standard-library module that torch itself loads (through ``subprocess``); so
    the check is that no module of the package that ``import deepftle`` loads imports
    ``fcntl`` or ``snakemake``, and that ``fcntl`` is loaded only where ``import torch`` alone
    loads it."""
    probe = (
        "import sys, {0}; mods = sorted(sys.modules); "
        "print('fcntl' in mods, any(m.split('.')[0] == 'snakemake' for m in mods)); "
        "print(' '.join(m for m in mods if m.split('.')[0] == 'deepftle'))"
    )
    torch_only = subprocess.run(
        [sys.executable, "-c", probe.format("torch, numpy")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    ours = subprocess.run(
        [sys.executable, "-c", probe.format("deepftle")], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    fcntl_by_torch = torch_only[0].split()[0] == "True"
    fcntl, snakemake = ours[0].split()
    assert snakemake == "False", "import deepftle loads snakemake"
    assert fcntl == "False" or fcntl_by_torch, "import deepftle loads fcntl (torch does not)"
    modules = _modules()
    loaded = [m for m in ours[1].split() if m in modules]
    assert PACKAGE in loaded
    offenders = []
    for m in loaded:
        tree = ast.parse(modules[m].read_text())
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and not node.level
                else []
            )
            offenders += [
                f"{m} imports {n}" for n in names if n.split(".")[0] in ("fcntl", "snakemake")
            ]
    assert not offenders, "import deepftle loads " + "; ".join(offenders)


def test_the_checks_catch_what_they_should(tmp_path):
    """A cycle, an upward arrow, a function-local import and a module outside the layers are
    each found."""
    pkg = tmp_path / PACKAGE
    files = {
        "__init__.py": "",
        "activations.py": "",
        "_version.py": "",
        "ftle/__init__.py": "from .. import activations, _version\n",
        "ftle/_api.py": "def f():\n    from ..nets import mlp\n",
        "nets/__init__.py": "",
        "nets/mlp.py": "from . import archs\n",
        "nets/archs.py": "def g():\n    from .mlp import MLP\n",
        "flat.py": "",
        "plots/__init__.py": "",
        "plots/fig.py": "import deepftle.nets.mlp\n",
        "circle/__init__.py": "",
        "circle/x.py": "from ..images import y\n",
        "images/__init__.py": "",
        "images/y.py": "from deepftle import __version__\n",
    }
    for name, text in files.items():
        (pkg / name).parent.mkdir(parents=True, exist_ok=True)
        (pkg / name).write_text(text)
    assert cycles(tmp_path) == [["deepftle.nets.archs", "deepftle.nets.mlp"]]
    errors = "\n".join(layering_errors(tmp_path))
    for wrong in (
        "deepftle.ftle._api:2 imports deepftle.nets.mlp",
        "deepftle.ftle:1 imports deepftle._version",
        "deepftle.flat: in no layer",
        "deepftle.plots.fig:1 imports deepftle.nets.mlp",
        "deepftle.circle.x:1 imports deepftle.images.y",
        "deepftle.images.y:1 imports deepftle ",
    ):
        assert wrong in errors
    assert "nets.mlp:1" not in errors and "nets.archs" not in errors
    assert "imports deepftle.activations" not in errors
