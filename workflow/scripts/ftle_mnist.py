"""ftle_mnist: lambda_1 (input -> last hidden layer), prediction and probabilities of the main
net for all images; H from the ensemble's averaged softmax (H_single: the main net alone)."""

from deepftle.mnist import stages
from deepftle.mnist.nets import load_tensors
from deepftle.pipeline.files import provenance, save_npz
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm, device=True) as device:
    arrays = stages.ftle_mnist(
        load_tensors(sm.input.data),
        sm.input.net,
        list(sm.input.members),
        train=dict(sm.params.train),
        device=device,
        batch_size=sm.params.ftle.get("batch_size"),
    )
    save_npz(sm.output[0], provenance(dict(sm.params.ftle), device), **arrays)
