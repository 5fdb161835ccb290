"""ftle_mnist_figS2: lambda_1 (input -> last hidden layer) of Fig. S2's net 0 over the test
images, its predictions, and H from the averaged softmax of the Fig. S2 ensemble."""

import torch

from deepftle.mnist.figS2 import figS2_architecture
from deepftle.mnist.nets import load_tensors
from deepftle.mnist.stages import figS2_arrays
from deepftle.pipeline.devices import job_device
from deepftle.pipeline.files import log_to, provenance, read_tsv, save_npz

sm = snakemake  # noqa: F821
with log_to(sm.log[0]), job_device(sm.config["device"]) as device:
    torch.set_num_threads(sm.threads)
    train = dict(sm.params.train)
    arch = figS2_architecture(dict(sm.params.arch), train)
    arrays = figS2_arrays(load_tensors(sm.input.data), list(sm.input.nets),
                          [read_tsv(h) for h in sm.input.histories], train=train, arch=arch,
                          device=device, n_test=sm.params.n_test,
                          batch_size=sm.params.ftle.get("batch_size"))
    save_npz(sm.output[0], provenance(dict(sm.params.ftle, arch=arch, n_test=sm.params.n_test),
                                      device), **arrays)
