"""Smoke test of bench/train.py (population vs solo training) on tiny step counts."""

import csv
import importlib.util
from pathlib import Path

import torch

BENCH = Path(__file__).resolve().parents[1] / "bench" / "train.py"


def test_train_bench_quick(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("bench_train", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    threads = torch.get_num_threads()
    out = tmp_path / "train.tsv"
    try:
        rows = bench.main(["--quick", "--reps", "1", "--sizes", "1", "3", "--device", "cpu",
                           "--sweep-widths", "30", "--sweep-size", "2", "--out", str(out)])
    finally:
        torch.set_num_threads(threads)
    table = list(csv.DictReader(open(out), delimiter="\t"))
    assert list(table[0]) == bench.COLUMNS
    assert [(r["shape"], r["S"]) for r in table] == [(s, n) for s in bench.SHAPES
                                                    for n in ("1", "3")] + [
        ("circle_2-30x12-1_sgd", "2")]
    for r, row in zip(table, rows):
        solo, pop = float(r["solo_ms_per_step_per_net"]), float(r["population_ms_per_step"])
        assert solo > 0 and pop > 0, r
        assert abs(float(r["throughput_ratio"]) - row["S"] * solo / pop) < 0.01 * float(
            r["throughput_ratio"]) + 1e-3
        assert r["threads"] == "1" and r["device"] == "cpu"
    assert "Throughput of a population" in capsys.readouterr().out
