"""train_mnist, train_mnist_member, train_mnist_width: one MNIST net of the mnist.train protocol
(member and width nets with their own seed, width and epochs)."""

from deepftle.images import stages
from deepftle.images.data import PIXEL_MEAN, PIXEL_STD
from deepftle.images.datasets import load_image_set
from deepftle.images.nets import NetSpec
from deepftle.nets.checkpoints import save_model
from deepftle.pipeline.files import provenance, save_tsv
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm, device=True) as device:
    net = stages.train_mnist(
        load_image_set("mnist", sm.input.data),
        spec=NetSpec.from_config(dict(sm.params.spec)),
        device=device,
    )
    prov = {k: str(v) for k, v in provenance(net["params"], device).items()}
    save_model(sm.output.net, net["model"], prov, pixel_mean=PIXEL_MEAN, pixel_std=PIXEL_STD)
    save_tsv(sm.output.history, net["history"], prov)
