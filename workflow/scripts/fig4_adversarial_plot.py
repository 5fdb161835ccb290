"""plot_fig4_adversarial: lambda_1 and probabilities along the attack, |cos(v1, dx)| against
random directions (the claim of Fig. S4), start and end images; the alignment table."""

from deepftle.mnist.fig4 import alignment_table, path_table
from deepftle.pipeline.files import load_npz, log_to, provenance, save_tsv
from deepftle.plots.fig4_adversarial import plot_adversarial

sm = snakemake  # noqa: F821
with log_to(sm.log[0]):
    path, prov = load_npz(sm.input.path)
    align = alignment_table(path)
    save_tsv(sm.output.alignment, align, provenance(prov))
    plot_adversarial(path_table(path), align, path, sm.output.pdf, sm.output.png)
