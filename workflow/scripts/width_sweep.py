"""width_sweep: mean and std of lambda_1 over the test set, and test accuracy, vs width N."""

from deepftle.mnist import stages
from deepftle.mnist.nets import load_tensors
from deepftle.pipeline.files import provenance, save_tsv
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm, device=True) as device:
    table = stages.width_sweep(
        load_tensors(sm.input.data),
        list(sm.input.nets),
        list(sm.params.nets),
        train=dict(sm.params.train),
        device=device,
        n_test=sm.params.n_test,
        min_accuracy=sm.params.min_accuracy,
        batch_size=sm.params.ftle.get("batch_size"),
    )
    save_tsv(
        sm.output[0],
        table,
        provenance(
            dict(
                nets=list(sm.params.nets),
                n_test=sm.params.n_test,
                min_accuracy=sm.params.min_accuracy,
            ),
            device,
        ),
    )
