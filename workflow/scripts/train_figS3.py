"""train_figS3: one net of Fig. S3 (an MLP or the CNN on one data set), trained with the
mnist.train protocol, its own seed and epochs."""

from deepftle.mnist import stages
from deepftle.mnist.datasets import load_image_set
from deepftle.nets.checkpoints import save_model
from deepftle.pipeline.files import provenance, save_tsv
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm, device=True) as device:
    net = stages.train_figS3(
        load_image_set(sm.wildcards.dataset, sm.input.data),
        train=dict(sm.params.train),
        figS3_arch=dict(sm.params.arch),
        device=device,
        net=dict(sm.params.net),
    )
    prov = {k: str(v) for k, v in provenance(net["params"], device).items()}
    save_tsv(sm.output.history, net["history"], prov)
    save_model(sm.output.net, net["model"], prov)
