"""claims_figS2: the claims of Fig. 4(b) for the Fig. S2 architecture, and its summary table."""

from deepftle.mnist.figS2 import figS2_claims, figS2_summary
from deepftle.pipeline.claims import write_claims
from deepftle.pipeline.files import load_npz, log_to, provenance, save_tsv

sm = snakemake  # noqa: F821
with log_to(sm.log[0]):
    ftle, _ = load_npz(sm.input.ftle)
    prov = provenance(dict(sm.params))
    claims = figS2_claims(ftle, sm.params.min_accuracy)
    for c in claims:
        print(f"{'holds' if c.holds else 'FAILS'}: {c.claim}: {c.value:.4g} ({c.threshold})",
              flush=True)
    save_tsv(sm.output.summary, figS2_summary(ftle), prov)
    write_claims(sm.output.claims, claims, prov)
