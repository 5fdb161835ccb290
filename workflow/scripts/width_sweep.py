"""width_sweep: mean and std of lambda_1 over the test set, and test accuracy, vs width N."""

from deepftle.images import stages
from deepftle.images.datasets import load_image_set
from deepftle.images.nets import NetSpec
from deepftle.pipeline.files import provenance, save_tsv
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm, device=True) as device:
    table = stages.width_sweep(
        load_image_set("mnist", sm.input.data),
        list(sm.input.nets),
        [
            (NetSpec.from_config(dict(s)), r)
            for s, r in zip(sm.params.specs, sm.params.realisations, strict=True)
        ],
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
                specs=list(sm.params.specs),
                n_test=sm.params.n_test,
                min_accuracy=sm.params.min_accuracy,
            ),
            device,
        ),
    )
