"""bottleneck_figS3: the bottleneck map of the MLP of one Fig. S3 data set (local fields of its
test images)."""

from deepftle.mnist import stages
from deepftle.mnist.datasets import load_image_set
from deepftle.pipeline.files import provenance, save_npz
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm, device=True) as device:
    b = dict(sm.params.bottleneck)
    arrays = stages.bottleneck_figS3(
        load_image_set(sm.wildcards.dataset, sm.input.data),
        sm.input.net,
        train=dict(sm.params.train),
        figS3_arch=dict(sm.params.arch),
        b=b,
        device=device,
    )
    save_npz(sm.output[0], provenance(b, device), **arrays)
