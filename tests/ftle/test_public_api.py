"""The engine's public surface: ``deepftle.ftle`` and its ``__all__``.

Every module of ``src/deepftle/ftle/`` but the package ``__init__`` is private (a leading
underscore). Code outside the engine (the rest of the package, bench/, docs/, workflow/, the
tests outside tests/ftle/) imports from ``deepftle.ftle`` only, never from a private module or
a private name of it; the tests in tests/ftle/ test internals and may.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import deepftle

ROOT = Path(__file__).resolve().parents[2]
ENGINE = "deepftle.ftle"
PUBLIC = ["ftle", "exact_float32"]
SCANNED = ("src", "bench", "docs", "tests", "workflow")
EXEMPT = ("src/deepftle/ftle", "tests/ftle")  # the engine itself and its internals' tests
SNAKEMAKE = re.compile(r"\bdeepftle\.ftle\._\w+|\bfrom\s+deepftle\.ftle\s+import\s+[^\n]*\b_\w")


def _module_of(path: Path, root: Path) -> str | None:
    """Dotted name of a module of the package under ``root/src``, else None."""
    try:
        parts = list(path.relative_to(root / "src").with_suffix("").parts)
    except ValueError:
        return None
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _private(module: str, names: list[str]) -> list[str]:
    """The private engine modules or names that ``from module import names`` (or ``import
    module`` with no names) reaches."""
    if module == ENGINE:
        return [f"{ENGINE}.{n}" for n in names if n.startswith("_")]
    if module.startswith(ENGINE + "._"):
        return [module]
    return []


def _python_errors(path: Path, rel: str, root: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    name = _module_of(path, root)
    package = (
        None if name is None else name if path.name == "__init__.py" else name.rpartition(".")[0]
    )
    errors = []
    for node in ast.walk(tree):
        found = []
        if isinstance(node, ast.Import):
            for alias in node.names:
                found += _private(alias.name, [])
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                if package is None:
                    continue
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([module] if module else []))
            found += _private(module, [a.name for a in node.names])
        errors += [f"{rel}:{node.lineno} imports {m}" for m in found]
    return errors


def private_imports(root: Path = ROOT) -> list[str]:
    """``file:line imports deepftle.ftle._x`` for every import of a private engine module or
    name outside the engine and its tests (function-local imports included; Snakefiles read
    as text)."""
    files = [p for d in SCANNED for p in sorted((root / d).rglob("*")) if p.is_file()]
    files += [root / "Snakefile"] if (root / "Snakefile").is_file() else []
    errors = []
    for path in files:
        rel = path.relative_to(root).as_posix()
        if any(rel == e or rel.startswith(e + "/") for e in EXEMPT):
            continue
        if path.suffix == ".py":
            errors += _python_errors(path, rel, root)
        elif path.suffix == ".smk" or path.name == "Snakefile":
            for i, line in enumerate(path.read_text().splitlines(), 1):
                errors += [f"{rel}:{i} imports {m.group(0)}" for m in SNAKEMAKE.finditer(line)]
    return errors


def test_no_code_outside_the_engine_imports_a_private_module():
    errors = private_imports()
    assert not errors, "imports of the engine's private modules:\n" + "\n".join(errors)


def test_every_module_of_the_engine_is_private():
    package = ROOT / "src" / "deepftle" / "ftle"
    public = [p.name for p in package.glob("*.py") if p.name != "__init__.py"]
    assert public and all(n.startswith("_") for n in public), public
    assert not [p.name for p in package.iterdir() if p.is_dir() and p.name != "__pycache__"]


def test_every_public_name_resolves():
    engine = importlib.import_module(ENGINE)  # deepftle.ftle, the attribute, is the function
    assert engine.__all__ == PUBLIC
    for name in engine.__all__:
        assert not name.startswith("_")
        assert getattr(engine, name) is not None
    namespace = {}
    exec(f"from {ENGINE} import *", namespace)
    assert set(PUBLIC) <= set(namespace)
    assert deepftle.ftle is engine.ftle  # the root re-exports the function
    with engine.exact_float32():
        pass


def test_the_check_catches_private_imports(tmp_path):
    """Absolute, relative, aliased and function-local imports of a private module or name are
    found outside the engine and tests/ftle; the public names and the engine's own imports
    pass."""
    files = {
        "src/deepftle/__init__.py": "from .ftle import ftle\n",
        "src/deepftle/ftle/__init__.py": "from ._api import ftle\n",
        "src/deepftle/ftle/_api.py": "from ._generic import run\nfrom . import _probes as p\n",
        "src/deepftle/nets/__init__.py": "",
        "src/deepftle/nets/a.py": "from ..ftle._api import ftle\n",
        "src/deepftle/nets/b.py": "from ..ftle import _generic, ftle\n",
        "src/deepftle/nets/c.py": "def f():\n    import deepftle.ftle._krylov\n",
        "src/deepftle/nets/ok.py": "from ..ftle import exact_float32, ftle\nfrom .. import ftle\n",
        "bench/b.py": "from deepftle.ftle._kernels import qr2\n",
        "bench/ok.py": "import deepftle.ftle\nfrom deepftle.ftle import ftle\n",
        "docs/d.py": "from deepftle.ftle import _probes as probes\n",
        "workflow/scripts/s.py": "from deepftle.ftle import ftle\n",
        "workflow/rules/r.smk": "from deepftle.ftle._api import ftle\n",
        "tests/test_x.py": "from deepftle.ftle import _sequential\n",
        "tests/ftle/test_inside.py": "from deepftle.ftle import _generic as generic\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert sorted(private_imports(tmp_path)) == [
        "bench/b.py:1 imports deepftle.ftle._kernels",
        "docs/d.py:1 imports deepftle.ftle._probes",
        "src/deepftle/nets/a.py:1 imports deepftle.ftle._api",
        "src/deepftle/nets/b.py:1 imports deepftle.ftle._generic",
        "src/deepftle/nets/c.py:2 imports deepftle.ftle._krylov",
        "tests/test_x.py:1 imports deepftle.ftle._sequential",
        "workflow/rules/r.smk:1 imports deepftle.ftle._api",
    ]
