"""train_mnist_figS2: one net of the Fig. S2 ensemble (mnist.figS2.arch), trained with the
mnist.train protocol, its own seed and mnist.figS2.epochs."""

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
        figS2_arch=dict(sm.params.arch),
    )
    prov = {k: str(v) for k, v in provenance(net["params"], device).items()}
    save_model(sm.output.net, net["model"], prov, pixel_mean=PIXEL_MEAN, pixel_std=PIXEL_STD)
    save_tsv(sm.output.history, net["history"], prov)
