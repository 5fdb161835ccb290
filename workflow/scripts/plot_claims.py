"""plot_claims: the forest plot of one figure's claims (estimate, interval, margin)."""

from deepftle.pipeline.files import read_tsv
from deepftle.pipeline.job import job
from deepftle.plots.claims import plot_claims

sm = snakemake  # noqa: F821
with job(sm):
    plot_claims(read_tsv(sm.input[0]), sm.wildcards.figure, sm.output.pdf, sm.output.png)
