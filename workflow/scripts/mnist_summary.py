"""mnist_summary: summary table (accuracies, correlations, boxes) and the Figure 4 claims."""

from deepftle.mnist.fig4 import fig4_claims, fig4_summary
from deepftle.pipeline.claims import write_claims
from deepftle.pipeline.files import load_npz, log_to, provenance, read_tsv, save_tsv

sm = snakemake  # noqa: F821
with log_to(sm.log[0]):
    history = read_tsv(sm.input.history)
    ftle, _ = load_npz(sm.input.ftle)
    coords, _ = load_npz(sm.input.coords)
    path, _ = load_npz(sm.input.path)
    widths = read_tsv(sm.input.widths)
    prov = provenance(dict(sm.params))
    table = fig4_summary(history, ftle, coords, sm.params.box_fraction)
    claims = fig4_claims(history, ftle, coords, path, widths,
                         paper_accuracy=sm.params.paper_accuracy)
    for c in claims:
        print(f"{'holds' if c.holds else 'FAILS'}: {c.claim}: {c.value:.4g} ({c.threshold})",
              flush=True)
    save_tsv(sm.output.summary, table, prov)
    write_claims(sm.output.claims, claims, prov)
