"""ftle_mnist_mains: lambda_1 of every realisation of the main net over the test images, its
predictions and confidence, and its H from the averaged softmax of all the other nets."""

from deepftle.images import stages
from deepftle.images.datasets import load_image_set
from deepftle.pipeline.files import provenance, read_tsv, save_npz
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm, device=True) as device:
    arrays = stages.ftle_mnist_mains(
        load_image_set("mnist", sm.input.data),
        list(sm.input.nets),
        [read_tsv(h) for h in sm.input.histories],
        list(sm.input.members),
        arch=dict(sm.params.arch),
        device=device,
        batch_size=sm.params.ftle.get("batch_size"),
    )
    save_npz(sm.output[0], provenance(dict(sm.params.ftle), device), **arrays)
