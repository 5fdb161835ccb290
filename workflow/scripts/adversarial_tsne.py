"""adversarial_tsne: where openTSNE `transform` puts the attack path's images (each image placed
on its own against the fixed map)."""

import pickle

from deepftle.images import stages
from deepftle.images.settings import TsneSettings
from deepftle.pipeline.files import load_npz, provenance, save_npz
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm):
    path, _ = load_npz(sm.input.path)
    with open(sm.input.embedding, "rb") as fh:
        emb = pickle.load(fh)
    arrays = stages.adversarial_tsne(
        emb,
        path,
        sm.input.net,
        arch=dict(sm.params.arch),
        tsne=TsneSettings.from_config(dict(sm.params.tsne)),
    )
    save_npz(sm.output[0], provenance(dict(sm.params.tsne), "cpu"), **arrays)
