"""embed_analysis: the openTSNE map of an analysis's test inputs, coloured by lambda_1."""

from deepftle.images import analysis
from deepftle.pipeline.files import load_npz, provenance, save_npz
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm):
    spec = analysis.AnalysisSpec.from_config(sm.wildcards.analysis, dict(sm.params.entry))
    arrays, _ = load_npz(sm.input.arrays)
    emb = analysis.embed_analysis(
        spec, analysis.load_data(spec, sm.input.data), arrays, **dict(sm.params.tsne)
    )
    save_npz(sm.output[0], provenance(dict(sm.params)), **emb)
