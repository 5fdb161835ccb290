"""fashion_mnist_data: the four raw Fashion-MNIST IDX files into resources/fashion_mnist/ (local
folder, Debian package, mirrors)."""

from pathlib import Path

from deepftle.images.data import fetch_fashion_mnist
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm):
    data = sm.params.data
    fetch_fashion_mnist(
        Path(sm.output[0]).parent,
        checksums=data.get("checksums"),
        local=data.get("local"),
        debian_package=data.get("debian_package"),
        mirrors=data.get("mirrors") or [],
        timeout=data.get("timeout_s", 300),
        log=lambda msg: print(msg, flush=True),
    )
