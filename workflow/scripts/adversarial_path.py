"""adversarial_path: targeted attack from a 9 in the 9 cluster to class 4 until p(4) >= stop_prob
(candidate starts in a fixed, logged order; fails naming every start if none reaches it), with
lambda_1, v1 alignment, probabilities and bottleneck position of every image."""

from deepftle.mnist import stages
from deepftle.mnist.nets import load_tensors
from deepftle.pipeline.files import load_npz, provenance, save_npz
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm, device=True) as device:
    a = dict(sm.params.attack)
    coords, _ = load_npz(sm.input.coords)
    arrays = stages.adversarial_path(
        load_tensors(sm.input.data),
        sm.input.net,
        sm.input.bottleneck,
        coords,
        train=dict(sm.params.train),
        a=a,
        device=device,
        log=lambda msg: print(msg, flush=True),
    )
    save_npz(sm.output[0], provenance(a, device), **arrays)
