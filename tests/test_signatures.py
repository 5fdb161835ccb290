"""Signatures of the package's public functions: a flag (a parameter with a bool default or a
``bool`` annotation) is keyword-only, so that no call reads ``f(x, True, False)``."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "deepftle"


def _is_flag(arg: ast.arg, default: ast.expr | None) -> bool:
    annotated = arg.annotation is not None and ast.unparse(arg.annotation) == "bool"
    defaulted = isinstance(default, ast.Constant) and isinstance(default.value, bool)
    return annotated or defaulted


def _public_functions(tree: ast.Module):
    """Module-level functions and methods of module-level classes whose names (and class names)
    do not start with an underscore."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if not node.name.startswith("_"):
                yield node.name, node
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                        not item.name.startswith("_"):
                    yield f"{node.name}.{item.name}", item


def positional_flags(package: Path = PACKAGE) -> list[str]:
    """``module:line function(flag)`` for every flag a public function takes positionally."""
    found = []
    for path in sorted(package.rglob("*.py")):
        for name, fn in _public_functions(ast.parse(path.read_text())):
            positional = fn.args.posonlyargs + fn.args.args
            defaults = [None] * (len(positional) - len(fn.args.defaults)) + fn.args.defaults
            found += [f"{path.relative_to(package.parent)}:{fn.lineno} {name}({arg.arg})"
                      for arg, default in zip(positional, defaults) if _is_flag(arg, default)]
    return found


def test_no_public_function_takes_a_flag_positionally():
    found = positional_flags()
    assert not found, "flags to make keyword-only (put them after *):\n" + "\n".join(found)


def test_the_check_finds_positional_flags(tmp_path):
    pkg = tmp_path / "deepftle"
    pkg.mkdir()
    (pkg / "m.py").write_text(
        "def f(x, progress=True):\n    pass\n"
        "def g(x, exact: bool):\n    pass\n"
        "def h(x, *, progress=True):\n    pass\n"
        "def _private(x, progress=True):\n    pass\n"
        "class Ops:\n    def gram(self, blocks, output_side: bool):\n        pass\n")
    assert [s.split(" ", 1)[1] for s in positional_flags(pkg)] == [
        "f(progress)", "g(exact)", "Ops.gram(output_side)"]
