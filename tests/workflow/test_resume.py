"""Never trust a half-written file: SIGKILL a training job part-way, then
``snakemake --rerun-incomplete`` finishes it, and the result equals an uninterrupted run's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch
import yaml
from helpers.pipelines import CIRCLE_CONFIG, ROOT, run_snakemake

# one Fig. 2 network trained for long enough (a few seconds on an idle core) to be killed
NET = "results/circle/nets/fig2/N16_L4_s0_seed0_full"


def _config(tmp_path) -> Path:
    cfg = yaml.safe_load(CIRCLE_CONFIG.read_text())
    cfg["circle"]["data"].update(n_train=3000, n_test=300)
    cfg["circle"]["fig2"]["epochs"] = 60
    path = tmp_path / "resume.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _job_pids(workdir: Path) -> list[int]:
    """Processes (the snakemake job scripts) whose command line mentions ``workdir``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if str(workdir) in cmd:
                pids.append(int(entry.name))
    return pids


def _interrupted_run(workdir: Path, config: Path) -> str:
    workdir.mkdir()
    log = workdir / "results/logs/train_circle/fig2/N16_L4_s0_seed0_full.log"
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(config),
        "--cores",
        "1",
        NET + ".pt",
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 600
    try:  # wait until training runs (the job prints its parameters, then trains)
        while not (log.exists() and "train_circle:" in log.read_text()):
            assert proc.poll() is None, "snakemake ended before training started"
            assert time.monotonic() < deadline, "training never started"
            time.sleep(0.2)
        time.sleep(1.0)
    finally:  # the whole process group, and any job that left it: nothing survives
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        for pid in _job_pids(workdir):
            os.kill(pid, signal.SIGKILL)
    return log.read_text()


def _state(workdir: Path) -> dict:
    return torch.load(workdir / (NET + ".pt"), map_location="cpu", weights_only=True)


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_killed_training_reruns_to_the_uninterrupted_result(tmp_path):
    config = _config(tmp_path)
    with ThreadPoolExecutor(max_workers=2) as pool:  # reference run alongside
        reference = pool.submit(run_snakemake, tmp_path / "reference", config, NET + ".pt")
        killed_log = _interrupted_run(tmp_path / "killed", config)
        ref = reference.result()
    assert ref.returncode == 0, ref.stderr[-3000:]
    killed = tmp_path / "killed"
    net = killed / (NET + ".pt")
    assert not net.exists(), f"checkpoint written by a killed job; log:\n{killed_log}"
    assert not list(net.parent.glob(".*.tmp")) if net.parent.exists() else True
    assert "sigma_w" not in killed_log  # killed before training finished

    # what a user does after a crash: unlock, then rerun what is incomplete
    unlock = run_snakemake(killed, config, "--unlock")
    assert unlock.returncode == 0, unlock.stderr[-2000:]
    rerun = run_snakemake(killed, config, "--rerun-incomplete", NET + ".pt")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "train_circle" in rerun.stdout + rerun.stderr

    a, b = _state(killed), _state(tmp_path / "reference")
    assert a["architecture"] == b["architecture"] and a["provenance"] == b["provenance"]
    for k, v in b["state_dict"].items():
        assert torch.equal(a["state_dict"][k], v), k
    hist = (killed / (NET + ".history.tsv")).read_text()
    assert hist == (tmp_path / "reference" / (NET + ".history.tsv")).read_text()
    assert hist.count("\n") > 60  # 61 epochs + provenance + header
    dry = run_snakemake(killed, config, "-n", NET + ".pt")
    assert "Nothing to be done" in dry.stdout + dry.stderr, dry.stdout[-2000:]
