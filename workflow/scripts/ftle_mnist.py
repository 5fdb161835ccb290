"""ftle_mnist: lambda_1 (input -> last hidden layer), prediction and probabilities of the main
net for all images; H from the ensemble's averaged softmax (H_single: the main net alone)."""

from deepftle.images import stages
from deepftle.images.datasets import load_image_set
from deepftle.pipeline.files import provenance, save_npz
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm, device=True) as device:
    arrays = stages.ftle_mnist(
        load_image_set("mnist", sm.input.data),
        sm.input.net,
        list(sm.input.members),
        arch=dict(sm.params.arch),
        device=device,
        batch_size=sm.params.ftle.get("batch_size"),
    )
    save_npz(sm.output[0], provenance(dict(sm.params.ftle), device), **arrays)
