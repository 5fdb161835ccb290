"""train_mnist, train_mnist_member, train_mnist_width: one MNIST net of the mnist.train protocol
(member and width nets with their own seed, width and epochs)."""

from deepftle.mnist import stages
from deepftle.mnist.data import PIXEL_MEAN, PIXEL_STD
from deepftle.mnist.nets import load_tensors
from deepftle.nets.checkpoints import save_model
from deepftle.pipeline.files import provenance, save_tsv
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm, device=True) as device:
    net = stages.train_mnist(
        load_tensors(sm.input.data),
        train=dict(sm.params.train),
        device=device,
        net=dict(sm.params.net),
    )
    prov = {k: str(v) for k, v in provenance(net["params"], device).items()}
    save_model(sm.output.net, net["model"], prov, pixel_mean=PIXEL_MEAN, pixel_std=PIXEL_STD)
    save_tsv(sm.output.history, net["history"], prov)
