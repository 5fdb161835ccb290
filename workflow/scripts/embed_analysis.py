"""embed_analysis: the openTSNE map of an analysis's test inputs, coloured by lambda_1."""

from deepftle.images.analysis import AnalysisSpec, embed_analysis, load_data
from deepftle.pipeline.files import load_npz, provenance, save_npz
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm):
    spec = AnalysisSpec.from_config(sm.wildcards.analysis, dict(sm.params.entry))
    arrays, _ = load_npz(sm.input.arrays)
    emb = embed_analysis(spec, load_data(spec, sm.input.data), arrays, **dict(sm.params.tsne))
    save_npz(sm.output[0], provenance(dict(sm.params)), **emb)
