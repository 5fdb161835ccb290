"""ftle_figS3: lambda_1 of net 0 of one (data set, architecture) of Fig. S3 over the test
images, its predictions, and H from the averaged softmax of its ensemble."""

from deepftle.mnist import stages
from deepftle.mnist.datasets import load_image_set
from deepftle.pipeline.files import provenance, read_tsv, save_npz
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm, device=True) as device:
    arrays, arch = stages.ftle_figS3(
        load_image_set(sm.wildcards.dataset, sm.input.data),
        list(sm.input.nets),
        [read_tsv(h) for h in sm.input.histories],
        train=dict(sm.params.train),
        figS3_arch=dict(sm.params.arch),
        device=device,
        n_test=sm.params.n_test,
        batch_size=sm.params.ftle.get("batch_size"),
    )
    save_npz(
        sm.output[0],
        provenance(dict(sm.params.ftle, arch=arch, n_test=sm.params.n_test), device),
        **arrays,
    )
