"""ftle_mnist_figS2: lambda_1 (input -> last hidden layer) of Fig. S2's net 0 over the test
images, its predictions, and H from the averaged softmax of the Fig. S2 ensemble."""

from deepftle.mnist import stages
from deepftle.mnist.nets import load_tensors
from deepftle.pipeline.files import provenance, read_tsv, save_npz
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm, device=True) as device:
    arrays, arch = stages.ftle_mnist_figS2(
        load_tensors(sm.input.data),
        list(sm.input.nets),
        [read_tsv(h) for h in sm.input.histories],
        train=dict(sm.params.train),
        figS2_arch=dict(sm.params.arch),
        device=device,
        n_test=sm.params.n_test,
        batch_size=sm.params.ftle.get("batch_size"),
    )
    save_npz(
        sm.output[0],
        provenance(dict(sm.params.ftle, arch=arch, n_test=sm.params.n_test), device),
        **arrays,
    )
