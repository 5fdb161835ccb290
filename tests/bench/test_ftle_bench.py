"""Smoke test of the benchmark code paths (bench/ftle.py, bench/pipeline.py) on tiny sizes."""

import csv

import torch
from helpers.bench import load_bench as load


def test_ftle_bench_quick(tmp_path, capsys):
    bench = load("ftle")
    threads = torch.get_num_threads()
    out = tmp_path / "ftle.tsv"
    try:
        bench.main(
            [
                "--quick",
                "--inprocess",
                "--reps",
                "1",
                "--threads",
                "1",
                "--out",
                str(out),
                "--cases",
                "grid_N10_L2",
                "mnist_N20_L16",
                "depth_N50_L2",
            ]
        )
    finally:
        torch.set_num_threads(threads)
    rows = list(csv.DictReader(open(out), delimiter="\t"))
    assert list(rows[0])[:6] == ["case", "method", "points", "seconds", "peak_rss_mb", "flops"]
    methods = {(r["case"], r["method"].split(" ")[0]) for r in rows}
    for case in ("grid_N10_L2", "mnist_N20_L16"):
        for m in ("deepftle", "gemm", "vmap_jacrev", "vmap_jacrev_256MB", "peer_loop"):
            assert (case, m) in methods
    assert ("grid_N10_L2", "vmap_jacfwd") in methods
    assert ("depth_N50_L2", "reference64") in methods
    for r in rows:
        assert float(r["seconds"]) > 0, r
        if r["method"].split(" ")[0] not in ("deepftle", "gemm"):
            assert float(r["max_abs_diff"]) < 1e-4, r  # every method agrees with deepftle
    assert "extrapolated" in {r["method"].split(" ")[-1].strip("()") for r in rows}
    assert "Targets" in capsys.readouterr().out


def test_pipeline_summary(tmp_path):
    pipeline = load("pipeline")
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    for rel, s in (("train_circle/fig2/N5_L8.tsv", "12.5"), ("mnist_data/main.tsv", "3.0")):
        path = tmp_path / "benchmarks" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + f"{s}\t0:00:12\t100.0\t1\t1\t1\t0\t0\t1\t2.0\n")
    rows, total = pipeline.main(
        ["--benchmarks", str(tmp_path / "benchmarks"), "--out", str(tmp_path / "pipeline.tsv")]
    )
    assert total == 15.5
    assert rows[0]["rule"] == "train_circle" and rows[0]["wildcards"] == "fig2/N5_L8"
    assert (tmp_path / "pipeline.tsv").read_text().startswith("rule\twildcards\tseconds")


def test_compare_engines_loads_a_committed_engine(capsys):
    bench = load("compare_engines")
    committed = bench.engine_at("HEAD")
    trunk = torch.nn.Sequential(
        torch.nn.Linear(2, 6), torch.nn.Tanh(), torch.nn.Linear(6, 6), torch.nn.Tanh()
    )
    x = torch.rand(50, 2)
    import deepftle

    assert torch.allclose(committed(trunk, x), deepftle.ftle(trunk, x), atol=1e-6)
    rows = bench.main(["--ref", "HEAD", "--cases", "grid_N10_L2", "--reps", "1"])
    assert rows[0][0] == "grid_N10_L2" and rows[0][3] < 1e-6
    assert "speed-up" in capsys.readouterr().out
