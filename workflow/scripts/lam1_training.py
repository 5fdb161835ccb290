"""lam1_training: quantiles of lambda_1 at every saved epoch of the Fig. S1 nets, and the claim
of Fig. S1."""

from deepftle.circle import stages
from deepftle.pipeline.claims import ClaimSettings, write_claims
from deepftle.pipeline.files import load_npz, provenance, save_tsv
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm):
    nets = sm.params.nets
    table, claims = stages.lam1_training(
        nets,
        [load_npz(f)[0] for f in sm.input.snapshots],
        settings=ClaimSettings.from_config(sm.params.claims),
    )
    prov = provenance(dict(nets=nets, claims=sm.params.claims))
    save_tsv(sm.output.table, table, prov)
    write_claims(sm.output.claims, claims, prov)
