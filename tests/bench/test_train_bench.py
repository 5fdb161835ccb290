"""bench/train.py (the training cost table) on tiny sizes, and bench/predict.py's arithmetic:
a job's time from the table, the list schedule's makespan, the dry run's job list."""

import csv
from pathlib import Path

import pytest
import torch
from helpers.bench import load_bench as load

TEST_CONFIG = Path(__file__).resolve().parents[1] / "config" / "test.yaml"


def test_cost_table_quick(tmp_path, capsys):
    bench = load("train")
    threads = torch.get_num_threads()
    out = tmp_path / "train.tsv"
    try:
        rows = bench.main(["--quick", "--configfile", str(TEST_CONFIG), "--out", str(out)])
    finally:
        torch.set_num_threads(threads)
    lines = out.read_text().splitlines()
    header = dict(ln[2:].split("\t") for ln in lines if ln.startswith("# "))
    assert float(header["job_overhead_s"]) > 0 and header["quick"] == "True"
    table = list(csv.DictReader([ln for ln in lines if not ln.startswith("#")], delimiter="\t"))
    assert list(table[0]) == bench.COLUMNS and len(table) == len(rows) == 3
    for r in table:
        step, floor = float(r["ms_per_step"]), float(r["gemm_floor_ms"])
        assert step > 0 and floor > 0 and r["threads"] == "1"
        assert float(r["step_over_floor"]) == pytest.approx(step / floor, rel=1e-2)
        steps = -(-int(r["n_train"]) // int(r["batch_size"]))
        assert float(r["s_per_epoch"]) == pytest.approx(
            steps * step / 1e3 + float(r["eval_s"]), rel=1e-2, abs=2e-3
        )
    assert "job overhead" in capsys.readouterr().out


def test_planned_jobs_and_specs():
    """The dry run of the tiny config lists its training jobs with the config's epochs and the
    population sizes of its group rules."""
    jobs = load("jobs")
    config = jobs.merged_config([TEST_CONFIG])
    planned = jobs.planned_jobs([TEST_CONFIG])
    specs = {
        (j["rule"], tuple(sorted(j["wildcards"].items()))): jobs.training_spec(j, config)
        for j in planned
    }
    groups = [s for (rule, _), s in specs.items() if rule == "train_circle_group_fig3b"]
    assert groups and all(s.S == len(config["circle"]["fig3b"]["seeds"]) for s in groups)
    assert all(s.epochs == config["circle"]["fig3b"]["epochs"] for s in groups)
    readouts = [
        s
        for (rule, wc), s in specs.items()
        if rule == "train_circle" and dict(wc).get("mode") == "readout"
    ]
    assert readouts and all(s is None for s in readouts)  # least squares: not a training loop
    assert specs[("circle_data", ())] is None


def test_prediction_arithmetic_and_schedule():
    predict = load("predict")
    jobs = [
        dict(rule="a", outputs=["x"], inputs=[], threads=1, seconds=10.0),
        dict(rule="b", outputs=["y"], inputs=["x"], threads=1, seconds=5.0),
        dict(rule="c", outputs=["z"], inputs=[], threads=1, seconds=7.0),
        dict(rule="d", outputs=["w"], inputs=["y", "z"], threads=2, seconds=1.0),
    ]
    # a (10) then b (5) on one core, c (7) beside them; d needs both cores after b
    assert predict.wall_time(jobs, 2) == pytest.approx(16.0)
    assert predict.wall_time(jobs, 1) == pytest.approx(23.0)
    with pytest.raises(SystemExit, match="make bench-train"):
        predict.read_table(Path("/nonexistent/train.tsv"))
