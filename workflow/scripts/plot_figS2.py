"""plot_figS2: Fig. 4(b)'s layout (test error and H vs lambda_1) for the Fig. S2
architecture, and the binned table behind it."""

from deepftle.images.analysis import analysis_bins
from deepftle.pipeline.files import load_npz, provenance, save_tsv
from deepftle.pipeline.job import job
from deepftle.plots.figS2 import plot_figS2

sm = snakemake  # noqa: F821
with job(sm):
    arrays, _ = load_npz(sm.input.arrays)
    t = analysis_bins(arrays, sm.params.n_bins)
    save_tsv(sm.output.bins, t["bins"], provenance(dict(sm.params)))
    plot_figS2(t, sm.output.pdf, sm.output.png, sm.params.min_accuracy)
