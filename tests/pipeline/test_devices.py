"""Device choice and per-job GPU pinning (deepftle.pipeline.devices).

GPUs are simulated with DEEPFTLE_FAKE_GPUS=K: job_device takes the same per-device locks as on
a real multi-GPU node but yields the CPU and prints the fake index it holds.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from deepftle.pipeline.devices import FAKE_GPUS_ENV, job_device, resolve_device

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
HOLD_S = 1.5  # how long each simulated job keeps its device


# ---------------------------------------------------------------- resolve_device


def test_resolve_device_cpu_and_auto():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device().type == expected


@pytest.mark.parametrize("bad", ["gpu", "CUDA", "", "cuda:0", "mps", None])
def test_resolve_device_rejects_unknown_names(bad):
    with pytest.raises(ValueError, match="auto, cpu or cuda"):
        resolve_device(bad)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_resolve_device_cuda_without_gpu_is_an_error():
    with pytest.raises(ValueError, match="no CUDA device"):
        resolve_device("cuda")
    with pytest.raises(ValueError, match="no CUDA device"):
        with job_device("cuda"):
            pass


def test_job_device_cpu_locks_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(FAKE_GPUS_ENV, "2")  # ignored: the config asked for the CPU
    with job_device("cpu", lock_dir=tmp_path / "locks") as dev:
        assert dev == torch.device("cpu")
    assert "device: cpu" in capsys.readouterr().out
    assert not (tmp_path / "locks").exists()


@pytest.mark.parametrize("bad", ["0", "-1", "two"])
def test_fake_gpus_must_be_positive_integer(tmp_path, monkeypatch, bad):
    monkeypatch.setenv(FAKE_GPUS_ENV, bad)
    with pytest.raises(ValueError, match=FAKE_GPUS_ENV):
        with job_device("auto", lock_dir=tmp_path):
            pass


def test_fake_gpus_in_process_distinct_then_timeout(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(FAKE_GPUS_ENV, "2")
    with job_device("cuda", lock_dir=tmp_path) as a, job_device("auto", lock_dir=tmp_path) as b:
        assert a == b == torch.device("cpu")
        held = re.findall(r"fake GPU (\d+) of 2", capsys.readouterr().out)
        assert sorted(held) == ["0", "1"]
        with pytest.raises(TimeoutError, match="no free GPU"):
            with job_device("cuda", lock_dir=tmp_path, poll_s=0.05, timeout_s=0.3):
                pass
    # both released: a new job gets a device at once
    with job_device("cuda", lock_dir=tmp_path, timeout_s=0):
        pass


# ---------------------------------------------------------------- concurrency


def _max_concurrent(intervals):
    """Largest number of (start, end) intervals open at one instant."""
    events = sorted(
        [(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals], key=lambda t: (t[0], t[1])
    )  # ends before starts at equal times
    held = peak = 0
    for _, step in events:
        held += step
        peak = max(peak, held)
    return peak


def _check_schedule(records, k):
    """records: (device, start, end). No device twice at once; at most k held at once."""
    for dev in {r[0] for r in records}:
        spans = sorted((s, e) for d, s, e in records if d == dev)
        for (_, e1), (s2, _) in itertools.pairwise(spans):
            assert s2 >= e1, f"device {dev} held by two jobs at once: {spans}"
    assert all(0 <= r[0] < k for r in records)
    peak = _max_concurrent([(s, e) for _, s, e in records])
    assert 1 <= peak <= k
    return peak


JOB_SCRIPT = """
import time
from deepftle.pipeline.job import job

with job(snakemake, device=True) as device:
    start = time.time()
    time.sleep(float(snakemake.params.hold))
    end = time.time()
with open(snakemake.output[0], "w") as f:
    f.write(f"{start!r}\\t{end!r}\\n")
"""

SNAKEFILE = """
configfile: "config.yaml"

rule all:
    input:
        expand("out/{i}.tsv", i=range(6)),

rule job:
    output:
        "out/{i}.tsv",
    params:
        hold=HOLD,
    log:
        "logs/{i}.log",
    resources:
        gpu=1,
    script:
        "job.py"
"""


@pytest.mark.timeout(300)
def test_snakemake_six_jobs_two_fake_gpus(tmp_path):
    """6 real Snakemake jobs, --cores 6 --resources gpu=2, K=2 fake devices."""
    (tmp_path / "job.py").write_text(JOB_SCRIPT)
    (tmp_path / "Snakefile").write_text(SNAKEFILE.replace("HOLD", repr(HOLD_S)))
    (tmp_path / "config.yaml").write_text(f"device: cuda\ngpu_lock_dir: {tmp_path / 'locks'}\n")
    env = dict(os.environ, **{FAKE_GPUS_ENV: "2"})
    env.pop("DEEPFTLE_GPU_LOCK_DIR", None)
    proc = subprocess.run(
        [SNAKEMAKE, "--cores", "6", "--resources", "gpu=2", "--quiet"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = []
    for i in range(6):
        log = (tmp_path / "logs" / f"{i}.log").read_text()
        dev = re.search(r"device: cpu \(fake GPU (\d+) of 2", log)
        assert dev, f"job {i} did not log its device: {log!r}"
        assert str(tmp_path / "locks") in log  # the config's gpu_lock_dir was used
        start, end = map(float, (tmp_path / "out" / f"{i}.tsv").read_text().split())
        records.append((int(dev.group(1)), start, end))
    peak = _check_schedule(records, 2)
    print(f"snakemake --resources gpu=2: max devices held at once = {peak}")


HOLDER = """
import sys, time
from deepftle.pipeline.devices import job_device
with job_device("auto", lock_dir=sys.argv[1], poll_s=0.05) as d:
    start = time.time()
    time.sleep(float(sys.argv[2]))
    end = time.time()
print("record", start, end, flush=True)
"""


@pytest.mark.timeout(300)
def test_six_processes_two_fake_gpus_lock_alone(tmp_path):
    """No scheduler help: 6 processes started together, K=2; the locks alone serialise them."""
    env = dict(os.environ, **{FAKE_GPUS_ENV: "2"})
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(tmp_path), str(HOLD_S)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    records = []
    for p in procs:
        out, _ = p.communicate(timeout=240)
        assert p.returncode == 0
        dev = int(re.search(r"fake GPU (\d+) of 2", out).group(1))
        _, start, end = re.search(r"record (\S+) (\S+)", out).group(0).split()
        records.append((dev, float(start), float(end)))
    peak = _check_schedule(records, 2)
    print(f"6 processes, K=2, no scheduler: max devices held at once = {peak}")


@pytest.mark.timeout(120)
def test_crashed_job_releases_its_device(tmp_path, monkeypatch):
    env = dict(os.environ, **{FAKE_GPUS_ENV: "1"})
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path), "600"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert "fake GPU 0 of 1" in holder.stdout.readline()
    monkeypatch.setenv(FAKE_GPUS_ENV, "1")
    try:
        with pytest.raises(TimeoutError):
            with job_device("auto", lock_dir=tmp_path, timeout_s=0.2, poll_s=0.05):
                pass
        holder.send_signal(signal.SIGKILL)  # no cleanup runs: the kernel drops the flock
        holder.wait()
        t0 = time.monotonic()
        with job_device("auto", lock_dir=tmp_path, timeout_s=5, poll_s=0.05):
            pass
        assert time.monotonic() - t0 < 5
    finally:
        if holder.poll() is None:
            holder.kill()
