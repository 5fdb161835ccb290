"""train_mnist / train_mnist_member / train_mnist_width: one MNIST net of the mnist.train
protocol (the member and width nets with their own seed, width and epochs)."""

import torch

import deepftle
from deepftle.mnist.data import PIXEL_MEAN, PIXEL_STD
from deepftle.mnist.nets import load_tensors, train_mnist_net
from deepftle.pipeline.devices import job_device
from deepftle.pipeline.files import log_to, provenance, save_tsv

sm = snakemake  # noqa: F821
with log_to(sm.log[0]), job_device(sm.config["device"]) as device:
    torch.set_num_threads(sm.threads)
    p = dict(sm.params.train)
    net = dict(sm.params.net)  # seed, and width / epochs overrides (None = the main net's)
    model, history = train_mnist_net(load_tensors(sm.input.data), p, device, **net)
    prov = {k: str(v) for k, v in provenance(dict(p, **net), device).items()}
    deepftle.save_model(sm.output.net, model, prov, pixel_mean=PIXEL_MEAN, pixel_std=PIXEL_STD)
    save_tsv(sm.output.history, history, prov)
