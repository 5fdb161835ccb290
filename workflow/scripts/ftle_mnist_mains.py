"""ftle_mnist_mains: lambda_1 of every realisation of the main net over the test images, its
predictions and confidence, and its H from the averaged softmax of all the other nets."""

from deepftle.mnist import stages
from deepftle.mnist.nets import load_tensors
from deepftle.pipeline.files import provenance, read_tsv, save_npz
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm, device=True) as device:
    arrays = stages.ftle_mnist_mains(
        load_tensors(sm.input.data),
        list(sm.input.nets),
        [read_tsv(h) for h in sm.input.histories],
        list(sm.input.members),
        train=dict(sm.params.train),
        device=device,
        batch_size=sm.params.ftle.get("batch_size"),
    )
    save_npz(sm.output[0], provenance(dict(sm.params.ftle), device), **arrays)
