"""adversarial_path: targeted attack from a 9 in the 9 cluster to class 4 until p(4) >= stop_prob
(candidate starts in a fixed, logged order; fails naming every start if none reaches it), with
lambda_1, v1 alignment, probabilities and bottleneck position of every image."""

import torch

from deepftle.mnist.nets import load_tensors
from deepftle.mnist.stages import adversarial_arrays
from deepftle.pipeline.devices import job_device
from deepftle.pipeline.files import load_npz, log_to, provenance, save_npz

sm = snakemake  # noqa: F821
with log_to(sm.log[0]), job_device(sm.config["device"]) as device:
    torch.set_num_threads(sm.threads)
    a = dict(sm.params.attack)
    coords, _ = load_npz(sm.input.coords)
    arrays = adversarial_arrays(load_tensors(sm.input.data), sm.input.net,
                                sm.input.bottleneck, coords, train=dict(sm.params.train), a=a,
                                device=device, log=lambda msg: print(msg, flush=True))
    save_npz(sm.output[0], provenance(a, device), **arrays)
