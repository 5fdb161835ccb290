"""train_mnist_figS2: one net of the Fig. S2 ensemble (mnist.figS2.arch), trained with the
mnist.train protocol, its own seed and mnist.figS2.epochs."""

import torch

import deepftle
from deepftle.mnist.data import PIXEL_MEAN, PIXEL_STD
from deepftle.mnist.figS2 import figS2_architecture
from deepftle.mnist.nets import load_tensors, train_mnist_net
from deepftle.pipeline.devices import job_device
from deepftle.pipeline.files import log_to, provenance, save_tsv

sm = snakemake  # noqa: F821
with log_to(sm.log[0]), job_device(sm.config["device"]) as device:
    torch.set_num_threads(sm.threads)
    p, net = dict(sm.params.train), dict(sm.params.net)
    arch = figS2_architecture(dict(sm.params.arch), p)
    model, history = train_mnist_net(load_tensors(sm.input.data), p, device, arch=arch, **net)
    prov = {k: str(v) for k, v in provenance(dict(p, **net, arch=arch), device).items()}
    deepftle.save_model(sm.output.net, model, prov, pixel_mean=PIXEL_MEAN, pixel_std=PIXEL_STD)
    save_tsv(sm.output.history, history, prov)
