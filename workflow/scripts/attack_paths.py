"""attack_paths: the Fig. 4(a) attack from many starts toward several targets; one row per path
(classes visited, detour, where lambda_1 peaks, |cos(v1, dx)| against its baselines)."""

from deepftle.images import stages
from deepftle.images.datasets import load_image_set
from deepftle.images.settings import AttackConfig
from deepftle.pipeline.files import load_npz, provenance, save_tsv
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm, device=True) as device:
    a = dict(sm.params.attack)
    table = stages.attack_paths(
        load_image_set("mnist", sm.input.data),
        sm.input.net,
        load_npz(sm.input.coords)[0],
        arch=dict(sm.params.arch),
        attack=AttackConfig.from_config(a),
        device=device,
        log=lambda msg: print(msg, flush=True),
    )
    save_tsv(sm.output[0], table, provenance(a, device))
