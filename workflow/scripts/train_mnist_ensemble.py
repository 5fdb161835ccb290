"""train_mnist_ensemble: ensemble members 1 .. M-1 of the mnist.train protocol as one
population job; one checkpoint and history per member."""

from deepftle.images import stages
from deepftle.images.data import PIXEL_MEAN, PIXEL_STD
from deepftle.images.datasets import load_image_set
from deepftle.images.nets import NetSpec
from deepftle.nets.checkpoints import save_model
from deepftle.pipeline.files import provenance, save_tsv
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm, device=True) as device:
    nets = stages.train_mnist_ensemble(
        load_image_set("mnist", sm.input.data),
        specs=[NetSpec.from_config(dict(s)) for s in sm.params.specs],
        device=device,
    )
    for net, net_path, history_path in zip(nets, sm.output.nets, sm.output.histories, strict=True):
        prov = {k: str(v) for k, v in provenance(net["params"], device).items()}
        save_tsv(history_path, net["history"], prov)
        save_model(net_path, net["model"], prov, pixel_mean=PIXEL_MEAN, pixel_std=PIXEL_STD)
