"""Time the FTLE engine against its version at another git commit, interleaved in one process.

Both engines run on the same trunk and inputs (the cases of ``bench/ftle.py``), alternating, so
that a machine whose speed drifts affects both alike; each time is the best of ``--reps``.
The other version's engine (``src/deepftle/ftle.py``, or the package ``src/deepftle/ftle/`` in
later versions) is read with ``git show`` and imported inside the installed package (so its
relative imports resolve).

    python bench/compare_engines.py --ref 401f16e --cases grid_N50_L8 mnist_N20_L16
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import deepftle

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
from ftle import cases, make_cnn, make_points, make_trunk  # noqa: E402  (bench/ftle.py)


def _git(*args) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT.parent, capture_output=True, text=True, check=True
    ).stdout


# what engines from before the package's layers imported of the flat package, and where it is now
MOVED = {
    r"from \.\.?model import Erf\b": "from deepftle.activations import Erf",
    r"from \.\.model import MLP\b": "from deepftle.nets.mlp import MLP",
    r"from \.\.devices import exact_float32\b": "from deepftle.ftle import exact_float32",
}


def _source(ref: str, path: str) -> str:
    """``path`` at ``ref``, its imports of modules that have moved since pointed at them."""
    source = _git("show", f"{ref}:{path}")
    for old, new in MOVED.items():
        source = re.sub(old, new, source)
    return source


def engine_at(ref: str):
    """The ``ftle`` function of the engine at git revision ``ref``: the single module
    src/deepftle/ftle.py (older versions) or the package src/deepftle/ftle/, imported under
    another name inside the installed package (so that its relative imports resolve)."""
    name = f"deepftle._ftle_at_{abs(hash(ref))}"
    files = [
        f
        for f in _git("ls-tree", "-r", "--name-only", ref, "src/deepftle/ftle/").split()
        if f.endswith(".py")
    ]
    if not files:  # one module
        source = _source(ref, "src/deepftle/ftle.py")
        spec = importlib.util.spec_from_loader(name, loader=None)
        module = importlib.util.module_from_spec(spec)
        module.__package__ = "deepftle"
        sys.modules[spec.name] = module  # dataclasses look their module up here
        exec(compile(source, f"{ref}:src/deepftle/ftle.py", "exec"), module.__dict__)
        return module.ftle
    folder = Path(tempfile.mkdtemp(prefix="ftle_at_"))
    for f in files:
        (folder / Path(f).name).write_text(_source(ref, f))
    spec = importlib.util.spec_from_file_location(
        name, folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module.ftle


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ref", required=True, help="git revision of the other engine")
    ap.add_argument(
        "--cases",
        nargs="*",
        default=["grid_N10_L2", "grid_N50_L8", "grid_N250_L12", "mnist_N20_L16"],
    )
    ap.add_argument("--reps", type=int, default=6)
    ap.add_argument("--threads", type=int)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    other = engine_at(args.ref)
    specs = cases(quick=False)
    rows = []
    for case in args.cases:
        spec = specs[case]
        trunk = (
            make_cnn(torch.device("cpu"))
            if spec.get("cnn")
            else make_trunk(spec["d_in"], spec["width"], spec["depth"], torch.device("cpu"))
        )
        x = make_points(spec, torch.device("cpu"))
        ours, theirs = deepftle.ftle(trunk, x), other(trunk, x)  # warm-up and answers
        best = {"current": float("inf"), args.ref: float("inf")}
        for _ in range(args.reps):
            for name, fn in (("current", deepftle.ftle), (args.ref, other)):
                t0 = time.perf_counter()
                fn(trunk, x)
                best[name] = min(best[name], time.perf_counter() - t0)
        diff = float((ours - theirs).abs().max())
        rows.append((case, best["current"], best[args.ref], diff))
        print(
            f"{case:16s} current {best['current']:.4f} s  {args.ref} {best[args.ref]:.4f} s  "
            f"speed-up {best[args.ref] / best['current']:.2f}x  max|diff| {diff:.1e}",
            flush=True,
        )
    return rows


if __name__ == "__main__":
    main()
