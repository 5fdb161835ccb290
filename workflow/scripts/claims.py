"""claims: every figure's claims table gathered into results/claims.tsv."""

from deepftle.pipeline.claims import gather_claims, summary_line
from deepftle.pipeline.files import provenance, save_tsv
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm):
    table = gather_claims(sm.input)
    print(table.to_string(index=False))
    print(summary_line(table))
    save_tsv(sm.output[0], table, provenance({"inputs": list(sm.input)}))
