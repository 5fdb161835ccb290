"""adversarial_tsne: where openTSNE `transform` puts the attack path's images (each image placed
on its own against the fixed map)."""

import pickle

import torch

from deepftle.mnist.stages import tsne_path
from deepftle.pipeline.files import load_npz, log_to, provenance, save_npz

sm = snakemake  # noqa: F821
with log_to(sm.log[0]):
    torch.set_num_threads(sm.threads)
    path, _ = load_npz(sm.input.path)
    with open(sm.input.embedding, "rb") as fh:
        emb = pickle.load(fh)
    arrays = tsne_path(emb, path, sm.input.net, train=dict(sm.params.train),
                       t=dict(sm.params.tsne))
    save_npz(sm.output[0], provenance(dict(sm.params.tsne), "cpu"), **arrays)
