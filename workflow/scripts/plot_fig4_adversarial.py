"""plot_fig4_adversarial: lambda_1 and probabilities along the attack, |cos(v1, dx)| against
random directions (the claim of Fig. S4), start and end images; the alignment table."""

from deepftle.images.fig4 import alignment_table, path_table
from deepftle.pipeline.files import load_npz, provenance, save_tsv
from deepftle.pipeline.job import job
from deepftle.plots.fig4_adversarial import plot_adversarial

sm = snakemake  # noqa: F821
with job(sm):
    path, prov = load_npz(sm.input.path)
    align = alignment_table(path)
    save_tsv(sm.output.alignment, align, provenance(prov))
    plot_adversarial(path_table(path), align, path, sm.output.pdf, sm.output.png)
