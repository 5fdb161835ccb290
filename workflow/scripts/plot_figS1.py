"""plot_figS1: the distribution of lambda_1 during training."""

from deepftle.pipeline.files import read_tsv
from deepftle.pipeline.job import job
from deepftle.plots.figS1 import plot_figS1

sm = snakemake  # noqa: F821
with job(sm):
    plot_figS1(
        read_tsv(sm.input.table),
        sm.output.pdf,
        sm.output.png,
        width=sm.params.width,
        depth=sm.params.depth,
    )
