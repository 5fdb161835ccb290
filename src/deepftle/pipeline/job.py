"""The frame every rule script runs in: ``with job(snakemake) as device: ...``.

A rule script reads its inputs, makes one library call and writes what it returns; what is
common to all of them lives here: stdout and stderr (tqdm progress included) go to the rule's
log, an exception is written there before it propagates, torch uses the rule's ``threads``,
and a rule that computes with torch holds its device for the whole job
(:func:`deepftle.pipeline.devices.job_device`: on CUDA an exclusive lock on one GPU).
"""

from __future__ import annotations

import contextlib

import torch

from .devices import job_device
from .files import log_to

__all__ = ["job"]


@contextlib.contextmanager
def job(smk, *, device: bool = False):
    """Run the body of a Snakemake ``script:`` as a pipeline job.

    ``smk`` is the ``snakemake`` object of the script. Yields the job's torch device when
    ``device`` is true (config ``device``: ``auto``, ``cpu`` or ``cuda``; config
    ``gpu_lock_dir`` and ``deterministic`` apply), else ``None``.
    """
    log = smk.log[0] if len(smk.log) else None
    with log_to(log):
        torch.set_num_threads(max(1, int(smk.threads)))
        if not device:
            yield None
            return
        cfg = smk.config
        with job_device(
            cfg["device"], lock_dir=cfg.get("gpu_lock_dir"), deterministic=cfg.get("deterministic")
        ) as dev:
            yield dev
