"""cifar10_data: the user's CIFAR-10 copy (archive or extracted folder) checked and written as
resources/cifar10/cifar10.npz."""

from deepftle.images.cifar import fetch_cifar10
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm):
    fetch_cifar10(sm.output[0], local=sm.params.local, log=lambda msg: print(msg, flush=True))
