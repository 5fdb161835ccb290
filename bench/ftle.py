"""Benchmark the FTLE engine against what users would otherwise write.

Methods, each case and method in a fresh subprocess so that peak RSS is per method:

- ``peer_loop``: a Python loop over points, ``torch.autograd.functional.jacobian`` + SVD (what
  public reproductions do); timed on a subset of points and extrapolated (labelled so).
- ``vmap_jacrev``: ``torch.func.vmap(jacrev(trunk))`` + ``torch.linalg.svdvals`` as a user
  writes it: one call on all points where the Jacobians fit in an 8 GiB budget, else chunked
  to fit (the chunk is recorded in the note).
- ``vmap_jacrev_256MB``: the same in chunks of 256 MB of cotangents (its best case on 2 cores;
  the whole-batch call is memory-bound).
- ``vmap_jacfwd``: ``vmap(jacfwd(trunk))`` + ``svdvals`` (forward mode, the cheaper autograd
  choice when d_in < N: 2-D inputs), memory-bounded like ``vmap_jacrev``.
- ``deepftle``: ``deepftle.ftle(trunk, x)`` (k = 1).
- ``gemm``: plain matrix products with the floating-point operation count of the minimal
  forward algorithm (1 + r rows per point through every hidden layer): the roofline proxy.

Every method's lambda_1 is compared with deepftle's (max |diff| printed and stored). Timings are
the best of several repetitions after a warm-up (``--reps``, and more until the timed runs
add up to ``--min-time`` seconds, default 3). Writes ``results/bench/ftle.tsv`` with columns
case, method, points, seconds, peak_rss_mb, flops (+ max_abs_diff, threads, device, note) and
prints ratio tables. Runs on CUDA when available (device name recorded).

    python bench/ftle.py            # full benchmark (make bench)
    python bench/ftle.py --quick    # tiny sizes, seconds (used by tests/test_bench.py)
    python bench/ftle.py --cases cnn_28x28_to_128 --methods vmap_jacrev   # one comparison
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = [
    "case",
    "method",
    "points",
    "seconds",
    "peak_rss_mb",
    "flops",
    "max_abs_diff",
    "threads",
    "device",
    "note",
]


# ----------------------------------------------------------------------------- cases


def cases(*, quick: bool) -> dict[str, dict]:
    """name -> dict(d_in, width, depth, grid or points, methods, subsets)."""
    g = 9 if quick else 201
    mnist_p = 64 if quick else 70000
    mnist_d = 784
    # deepftle_generic: the same trunk through the generic path (target: within 3x of fused)
    base = ["deepftle", "deepftle_generic", "gemm", "vmap_jacrev", "peer_loop"]
    grid = base + ["vmap_jacrev_256MB", "vmap_jacfwd"]
    out = {
        "grid_N10_L2": dict(d_in=2, width=10, depth=2, grid=g, methods=grid),
        "grid_N50_L8": dict(d_in=2, width=50, depth=8, grid=g, methods=grid),
        # vmap_jacrev_256MB would run in chunks of 89 points here: left out (hours)
        "grid_N250_L12": dict(
            d_in=2,
            width=250,
            depth=12,
            grid=g,
            methods=base + ["vmap_jacfwd"],
            vmap_points=None if quick else 4096,
            peer_points=8 if quick else 20,
        ),
        # jacfwd would push 784 tangents per point: reverse mode is the user's choice here
        "mnist_N20_L16": dict(
            d_in=mnist_d,
            width=20,
            depth=16,
            points=mnist_p,
            methods=base + ["vmap_jacrev_256MB"],
            peer_points=4 if quick else 100,
        ),
    }
    # the generic path on a CNN: 10000 images 1x28x28 -> 128 tanh features, k = 1;
    # vmap(jacrev) takes ~20 ms per image on 2 cores: timed on 300 images (about 6 s; 100 gave
    # a baseline that moved by 20 % between runs), extrapolated
    out["cnn_28x28_to_128"] = dict(
        cnn=True,
        d_in=784,
        width=128,
        depth=3,
        points=64 if quick else 10000,
        methods=["deepftle", "vmap_jacrev"],
        vmap_points=16 if quick else 300,
    )
    for depth in [2, 8] if quick else [2, 8, 32, 128]:
        out[f"depth_N50_L{depth}"] = dict(
            d_in=2, width=50, depth=depth, grid=g, methods=["deepftle", "reference64"]
        )
    return out


def make_trunk(d_in, width, depth, device, dtype=torch.float32, seed=0):
    """Random tanh trunk, N sigma_w^2 = 1.2 (mildly chaotic), thresholds N(0, 0.3^2)."""
    gen = torch.Generator().manual_seed(seed)
    layers = []
    for i in range(depth):
        lin = nn.Linear(d_in if i == 0 else width, width)
        with torch.no_grad():
            lin.weight.copy_(
                torch.randn(lin.weight.shape, generator=gen) * math.sqrt(1.2 / lin.in_features)
            )
            lin.bias.copy_(torch.randn(width, generator=gen) * 0.3)
        layers += [lin, nn.Tanh()]
    return nn.Sequential(*layers).to(device=device, dtype=dtype).eval()


def make_cnn(device, dtype=torch.float32, seed=0):
    """Conv(1->8, 3) tanh Conv(8->8, 3, stride 2) tanh Linear(1152 -> 128) tanh (FINDINGS)."""
    torch.manual_seed(seed)
    return (
        nn.Sequential(
            nn.Conv2d(1, 8, 3),
            nn.Tanh(),
            nn.Conv2d(8, 8, 3, stride=2),
            nn.Tanh(),
            nn.Flatten(),
            nn.Linear(1152, 128),
            nn.Tanh(),
        )
        .to(device, dtype)
        .eval()
    )


def make_points(spec, device, dtype=torch.float32):
    if spec.get("cnn"):
        gen = torch.Generator().manual_seed(1)
        return torch.rand(spec["points"], 1, 28, 28, generator=gen).to(device=device, dtype=dtype)
    if "grid" in spec:
        g = torch.linspace(-1, 1, spec["grid"])
        x = torch.cartesian_prod(g, g)
    else:
        x = torch.randn(spec["points"], spec["d_in"], generator=torch.Generator().manual_seed(1))
    return x.to(device=device, dtype=dtype)


def minimal_flops(spec, P) -> int:
    """Flops of the minimal forward algorithm: x W1^T, then 1 + r rows per hidden layer."""
    d, n, L = spec["d_in"], spec["width"], spec["depth"]
    r = min(d, n)
    return 2 * P * d * n + 2 * (1 + r) * P * n * n * (L - 1)


# ----------------------------------------------------------------------------- methods


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


MAX_REPS = 50


def best_time(fn, device, reps, min_total=0.0):
    """Best of at least ``reps`` timed runs after a warm-up, more (up to MAX_REPS) while they sum
    to less than ``min_total`` seconds: on a shared machine whose speed drifts by tens of
    percent, the best of many short runs is stable."""
    fn()  # warm-up
    _sync(device)
    times = []
    while len(times) < reps or (sum(times) < min_total and len(times) < MAX_REPS):
        t0 = time.perf_counter()
        out = fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return min(times), out


def run_method(case, method, quick, reps, tmp, min_time=0.0):
    """Runs in the child process; returns the row (lambda_1 saved to tmp/<case>.<method>.pt)."""
    import deepftle

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    def timed(fn, n):
        return best_time(fn, device, n, min_time)

    spec = cases(quick=quick)[case]
    trunk = (
        make_cnn(device)
        if spec.get("cnn")
        else make_trunk(spec["d_in"], spec["width"], spec["depth"], device)
    )
    x = make_points(spec, device)
    P, L = x.shape[0], spec["depth"]
    row = dict(
        case=case,
        method=method,
        points=P,
        note="",
        flops="" if spec.get("cnn") else minimal_flops(spec, P),
    )
    idx = torch.arange(P)

    if method == "deepftle" and spec.get("cnn"):  # ~1 min: warm up on a few points, time once
        deepftle.ftle(trunk, x[:64])
        seconds, lam = best_time(lambda: deepftle.ftle(trunk, x)[:, 0], device, 1)
        row["note"] = "generic path (block Lanczos, Kato-Temple stop)"
    elif method == "deepftle":
        seconds, lam = timed(lambda: deepftle.ftle(trunk, x)[:, 0], reps)
    elif method == "deepftle_generic":
        seconds, lam = timed(lambda: deepftle.ftle(trunk, x, method="generic")[:, 0], reps)
        d_out = spec["width"]
        row["note"] = (
            "generic path, " + ("forward" if spec["d_in"] <= d_out else "reverse") + " mode"
        )
    elif method == "gemm":
        n, r = spec["width"], min(spec["d_in"], spec["width"])
        a1 = torch.randn(P, spec["d_in"], device=device)
        w1 = torch.randn(spec["d_in"], n, device=device)
        o1 = torch.empty(P, n, device=device)
        a = torch.randn((1 + r) * P, n, device=device)
        w = torch.randn(n, n, device=device)
        o = torch.empty_like(a)

        def gemm():
            torch.mm(a1, w1, out=o1)
            for _ in range(L - 1):
                torch.mm(a, w, out=o)

        seconds, _ = timed(gemm, reps)
        lam = None
        row["note"] = (
            f"{L - 1} x ({(1 + r) * P} x {n}) @ ({n} x {n}) + "
            f"({P} x {spec['d_in']}) @ ({spec['d_in']} x {n})"
        )
    elif method.startswith("vmap_"):
        from torch.func import jacfwd, jacrev, vmap

        sub = spec.get("vmap_points") or P
        idx = torch.linspace(0, P - 1, sub).long()
        xs = x[idx.to(device)]
        # floats per chunk for the (chunk, N, max(N, d_in)) (co)tangents of all L layers
        budget = (256 << 20 if method.endswith("256MB") else 8 << 30) // 4
        per_row = spec["width"] * max(spec["width"], spec["d_in"]) * L
        chunk = max(16, min(xs.shape[0], budget // per_row))
        if spec.get("cnn"):  # per image: (1, 28, 28) -> (128,), Jacobian flattened

            def single(z):
                return trunk(z[None])[0]

            chunk = min(chunk, 100)
        else:
            single = trunk
        jac = vmap(jacfwd(single) if method == "vmap_jacfwd" else jacrev(single))

        def run():
            with torch.no_grad():
                return torch.cat(
                    [
                        torch.log(torch.linalg.svdvals(jac(xs[s : s + chunk]).flatten(2))[:, 0]) / L
                        for s in range(0, xs.shape[0], chunk)
                    ]
                )

        seconds, lam = timed(run, 1 if spec.get("cnn") else max(1, reps // 2))
        row["note"] = (
            f"one call on {chunk} points" if chunk >= xs.shape[0] else f"chunks of {chunk} points"
        )
        if sub < P:
            seconds *= P / sub
            row["note"] += f"; timed on {sub} points, extrapolated to {P}"
            row["method"] = f"{method} (extrapolated)"
    elif method == "peer_loop":
        sub = min(P, spec.get("peer_points", 8 if quick else 200))
        idx = torch.linspace(0, P - 1, sub).long()
        xs = x[idx.to(device)]

        def run():
            out = torch.empty(sub)
            for i in range(sub):
                J = torch.autograd.functional.jacobian(trunk, xs[i])
                out[i] = torch.log(torch.linalg.svd(J)[1][0]) / L
            return out

        seconds, lam = timed(run, 1)
        seconds *= P / sub
        row["method"] = "peer_loop (extrapolated)"
        row["note"] = f"timed on {sub} points, extrapolated to {P}"
    elif method == "reference64":
        # correctness at depth: float64 explicit Jacobian (vmap(jacrev)) + svdvals on a subset
        from torch.func import jacrev, vmap

        sub = min(P, 200)
        idx = torch.linspace(0, P - 1, sub).long()
        t64 = make_trunk(spec["d_in"], spec["width"], spec["depth"], device, torch.float64)
        x64 = x[idx.to(device)].double()
        seconds, lam = best_time(
            lambda: torch.log(torch.linalg.svdvals(vmap(jacrev(t64))(x64))[:, 0]) / L, device, 1
        )
        row["note"] = f"float64 reference on {sub} points (not a speed baseline)"
    else:
        raise ValueError(method)

    row["seconds"] = seconds
    if lam is not None:
        torch.save(
            {"idx": idx, "lam": lam.detach().double().cpu()},
            os.path.join(tmp, f"{case}.{method}.pt"),
        )
    row["threads"] = torch.get_num_threads()
    row["device"] = torch.cuda.get_device_name() if device.type == "cuda" else "cpu"
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    row["peak_rss_mb"] = round(rss, 1)
    if device.type == "cuda":
        row["note"] += f"; peak GPU memory {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB"
    return row


# ----------------------------------------------------------------------------- driver


def child(args):
    row = run_method(args.case, args.method, args.quick, args.reps, args.tmp, args.min_time)
    print("ROW " + json.dumps(row), flush=True)


def run_child(case, method, args, tmp):
    if args.inprocess:  # smoke tests: no fresh interpreter, so peak RSS is not per method
        try:
            return run_method(case, method, args.quick, args.reps, tmp, args.min_time)
        except Exception as exc:  # noqa: BLE001 - recorded in the table like a child failure
            return dict(
                case=case,
                method=method,
                points="",
                seconds=float("nan"),
                peak_rss_mb="",
                flops="",
                max_abs_diff="",
                threads="",
                device="",
                note=f"failed: {exc!r}",
            )
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        "--case",
        case,
        "--method",
        method,
        "--reps",
        str(args.reps),
        "--min-time",
        str(args.min_time),
        "--tmp",
        tmp,
    ]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    if args.quick:
        cmd.append("--quick")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    rows = [json.loads(l[4:]) for l in proc.stdout.splitlines() if l.startswith("ROW ")]
    if proc.returncode != 0 or not rows:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        why = (
            "out of memory"
            if proc.returncode in (-9, 137) or "memory" in proc.stderr.lower()
            else f"failed (rc {proc.returncode}): {' | '.join(tail)}"
        )
        return dict(
            case=case,
            method=method,
            points="",
            seconds=float("nan"),
            peak_rss_mb="",
            flops="",
            max_abs_diff="",
            threads="",
            device="",
            note=why,
        )
    return rows[0]


def compare(row, tmp):
    """max |lambda_1 - deepftle's| on the method's points."""
    base = Path(tmp) / f"{row['case']}.deepftle.pt"
    mine = Path(tmp) / f"{row['case']}.{row['method'].split(' ')[0]}.pt"
    if row["method"] == "deepftle" or not mine.exists() or not base.exists():
        return ""
    a, b = torch.load(base), torch.load(mine)
    ref = a["lam"][b["idx"]]
    both_finite = torch.isfinite(ref) & torch.isfinite(b["lam"])
    if not torch.equal(torch.isfinite(ref), torch.isfinite(b["lam"])):
        return float("inf")
    return float((ref - b["lam"])[both_finite].abs().max()) if both_finite.any() else 0.0


def depth_exponent(rows):
    pts = [
        (int(r["case"].split("_L")[1]), r["seconds"])
        for r in rows
        if r["case"].startswith("depth_")
        and r["method"] == "deepftle"
        and r["seconds"] == r["seconds"]
    ]
    if len(pts) < 2:
        return float("nan")
    lx = torch.tensor([math.log(d) for d, _ in pts])
    ly = torch.tensor([math.log(s) for _, s in pts])
    lx, ly = lx - lx.mean(), ly - ly.mean()
    return float((lx * ly).sum() / (lx * lx).sum())


def report(rows, wall):
    by_case: dict[str, dict[str, dict]] = {}
    for r in rows:
        by_case.setdefault(r["case"], {})[r["method"].split(" ")[0]] = r
    print(
        f"\n{'case':16s} {'method':28s} {'points':>7s} {'seconds':>10s} {'x deepftle':>11s} "
        f"{'GFLOP/s':>8s} {'RSS MB':>8s} {'max|diff|':>10s}  note"
    )
    for case, methods in by_case.items():
        base = methods.get("deepftle", {}).get("seconds", float("nan"))
        for r in methods.values():
            s = r["seconds"]
            ratio = s / base if base and s == s else float("nan")
            gf = (
                (r["flops"] / s / 1e9)
                if r["flops"] and s == s and r["method"] != "reference64"
                else float("nan")
            )
            diff = r["max_abs_diff"]
            print(
                f"{case:16s} {r['method']:28s} {r['points']!s:>7s} {s:10.4f} {ratio:11.2f} "
                f"{gf:8.1f} {r['peak_rss_mb']!s:>8s} "
                f"{(f'{diff:.2e}' if isinstance(diff, float) else '-'):>10s}  {r['note']}"
            )
    print("\nTargets:")
    g = by_case.get("grid_N50_L8", {})
    if "deepftle" in g:
        b = g["deepftle"]["seconds"]
        for m, t in (
            ("peer_loop", 1000),
            ("vmap_jacrev", 50),
            ("vmap_jacrev_256MB", 50),
            ("vmap_jacfwd", None),
        ):
            if m in g:
                print(
                    f"  grid (50, 8): {m} / deepftle = {g[m]['seconds'] / b:8.1f}  "
                    + (f"(target >= {t})" if t else "(no target)")
                )
    g = by_case.get("grid_N250_L12", {})
    if "deepftle" in g and "gemm" in g:
        ratio = g["deepftle"]["seconds"] / g["gemm"]["seconds"]
        print(
            f"  grid (250, 12): deepftle / gemm = {ratio:.2f}"
            f" (target <= 1.25); peak RSS {g['deepftle']['peak_rss_mb']} MB (target < 1024)"
        )
    g = by_case.get("mnist_N20_L16", {})
    if "deepftle" in g:
        line = f"  MNIST shape: deepftle {g['deepftle']['seconds']:.3f} s (target <= 1 s)"
        for m in ("vmap_jacrev", "vmap_jacrev_256MB"):
            if m in g:
                ratio = g[m]["seconds"] / g["deepftle"]["seconds"]
                line += f", {m} / deepftle = {ratio:.1f} (target >= 10)"
        if "gemm" in g:
            line += f", deepftle / gemm = {g['deepftle']['seconds'] / g['gemm']['seconds']:.2f}"
        print(line)
    print(f"  depth scaling: time ~ L^{depth_exponent(rows):.2f} (L = 2..128; target ~1)")
    for case, methods in by_case.items():
        if "deepftle_generic" in methods and "deepftle" in methods:
            ratio = methods["deepftle_generic"]["seconds"] / methods["deepftle"]["seconds"]
            print(f"  {case}: generic path / fused path = {ratio:.2f} (target <= 3)")
    g = by_case.get("cnn_28x28_to_128", {})
    if "deepftle" in g and "vmap_jacrev" in g:
        print(
            f"  CNN ({g['deepftle']['points']} x 1x28x28 -> 128): vmap_jacrev (extrapolated) / "
            f"deepftle = {g['vmap_jacrev']['seconds'] / g['deepftle']['seconds']:.1f} "
            f"(target >= 10), max |diff lambda_1| {g['vmap_jacrev']['max_abs_diff']} "
            f"(target <= 1e-4)"
        )
    deep = [r for r in rows if r["case"].startswith("depth_") and r["method"] == "reference64"]
    for r in deep:
        print(f"  {r['case']}: max |lambda - float64 reference| = {r['max_abs_diff']}")
    print(f"\nthreads: torch {torch.get_num_threads()}", end="")
    try:
        from threadpoolctl import threadpool_info

        print(
            "; " + ", ".join(f"{i['internal_api']} {i['num_threads']}" for i in threadpool_info())
        )
    except ImportError:
        print()
    print(f"device: {rows[0]['device'] if rows else '?'}; load average {os.getloadavg()}")
    print(f"bench wall time {wall:.1f} s")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    ap.add_argument("--reps", type=int, default=5, help="timed repetitions after a warm-up")
    ap.add_argument(
        "--min-time",
        type=float,
        default=None,
        help="repeat each method until its timed runs add up to this many seconds "
        "(at most 50 runs; default 3, 0 with --quick)",
    )
    ap.add_argument("--cases", nargs="*", help="subset of case names")
    ap.add_argument(
        "--methods",
        nargs="*",
        help="subset of method names (deepftle always runs: the others are compared with it)",
    )
    ap.add_argument("--out", default=str(ROOT / "results" / "bench" / "ftle.tsv"))
    ap.add_argument("--threads", type=int, help="torch threads in every method (default: torch's)")
    ap.add_argument(
        "--inprocess",
        action="store_true",
        help="run methods in this process (smoke tests; RSS not per method)",
    )
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument("--method", help=argparse.SUPPRESS)
    ap.add_argument("--tmp", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.min_time is None:
        args.min_time = 0.0 if args.quick else 3.0
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.child:
        return child(args)
    t0 = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case, spec in cases(quick=args.quick).items():
            if args.cases and case not in args.cases:
                continue
            for method in spec["methods"]:  # deepftle first: the others are checked against it
                if args.methods and method != "deepftle" and method not in args.methods:
                    continue
                row = run_child(case, method, args, tmp)
                row["max_abs_diff"] = compare(row, tmp) if row["seconds"] == row["seconds"] else ""
                rows.append(row)
                print(
                    f"{case:16s} {row['method']:28s} {row['seconds']:10.4f} s  "
                    f"rss {row['peak_rss_mb']} MB  diff {row['max_abs_diff']}",
                    flush=True,
                )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, COLUMNS, delimiter="\t", extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    report(rows, time.perf_counter() - t0)
    print(f"wrote {out}")
    return rows


if __name__ == "__main__":
    main()
