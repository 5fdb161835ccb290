"""adversarial_path: targeted attack from a 9 in the 9 cluster to class 4 until p(4) >= stop_prob
(candidate starts in a fixed, logged order; fails naming every start if none reaches it), with
lambda_1, v1 alignment, probabilities and bottleneck position of every image."""

from deepftle.images import stages
from deepftle.images.datasets import load_image_set
from deepftle.images.settings import AttackConfig
from deepftle.pipeline.files import load_npz, provenance, save_npz
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm, device=True) as device:
    a = dict(sm.params.attack)
    coords, _ = load_npz(sm.input.coords)
    arrays = stages.adversarial_path(
        load_image_set("mnist", sm.input.data),
        sm.input.net,
        sm.input.bottleneck,
        coords,
        arch=dict(sm.params.arch),
        attack=AttackConfig.from_config(a),
        device=device,
        log=lambda msg: print(msg, flush=True),
    )
    save_npz(sm.output[0], provenance(a, device), **arrays)
