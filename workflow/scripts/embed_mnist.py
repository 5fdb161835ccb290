"""embed_mnist: openTSNE map of the training images (raw pixels, or the main net's x^(L))."""

import pickle

from deepftle.images import stages
from deepftle.images.datasets import load_image_set
from deepftle.images.settings import TsneSettings
from deepftle.pipeline.files import atomic_path, provenance, save_npz
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm):
    p = dict(sm.params.tsne)
    emb, arrays = stages.embed_mnist(
        load_image_set("mnist", sm.input.data),
        sm.input.net,
        dict(sm.params.arch),
        TsneSettings.from_config(p),
    )
    with atomic_path(sm.output.model) as tmp, open(tmp, "wb") as fh:
        pickle.dump(emb, fh, protocol=pickle.HIGHEST_PROTOCOL)
    save_npz(sm.output.coords, provenance(p, "cpu"), **arrays)
