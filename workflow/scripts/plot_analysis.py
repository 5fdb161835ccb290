"""plot_analysis: an analysis's figure, test error and H against lambda_1 and the openTSNE map
coloured by lambda_1, with the binned table behind it."""

from deepftle.images.analysis import AnalysisSpec, analysis_bins
from deepftle.pipeline.files import load_npz, provenance, save_tsv
from deepftle.pipeline.job import job
from deepftle.plots.analysis import plot_analysis

sm = snakemake  # noqa: F821
with job(sm):
    spec = AnalysisSpec.from_config(sm.wildcards.analysis, dict(sm.params.entry))
    arrays, _ = load_npz(sm.input.arrays)
    emb, _ = load_npz(sm.input.tsne)
    # at most n_bins, and about 25 inputs per bin on average: a small test set stays readable
    n_bins = min(sm.params.n_bins, max(5, len(arrays["lam1"]) // 25))
    t = analysis_bins(arrays, n_bins)
    save_tsv(sm.output.bins, t["bins"], provenance(dict(sm.params)))
    plot_analysis(
        t,
        emb,
        sm.output.pdf,
        sm.output.png,
        title=f"{spec.label}: {spec.model.describe()} on {spec.data.label}",
        min_accuracy=spec.min_accuracy,
    )
