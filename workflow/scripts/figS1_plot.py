"""plot_figS1: lambda_1 distribution during training (glue; logic in deepftle.plots.figS1)."""
import deepftle.pipeline.files as dio
from deepftle.plots.figS1 import plot_figS1

with dio.log_to(snakemake.log[0]):
    plot_figS1(dio.read_tsv(snakemake.input.table), snakemake.output.pdf, snakemake.output.png,
               width=snakemake.params.width, depth=snakemake.params.depth)
