"""claims_figS2, claims_figS3: the claims of Fig. 4(b) for every analysis a figure draws, and
its summary table."""

from deepftle.images import analysis
from deepftle.pipeline.claims import ClaimSettings, write_claims
from deepftle.pipeline.files import load_npz, provenance, save_tsv
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm):
    keys = [tuple(k) for k in sm.params.instances]
    instances = {k: load_npz(f)[0] for k, f in zip(keys, sm.input.arrays, strict=True)}
    claims, summary = analysis.claims_figure(
        instances,
        dict(zip(keys, sm.params.min_accuracy, strict=True)),
        settings=ClaimSettings.from_config(sm.params.claims),
        figure=sm.rule.removeprefix("claims_"),
        name_sets=sm.params.name_sets,
    )
    for c in claims:
        print(f"{c.status}: {c.claim}: {c.estimate:.4g} [{c.ci_low:.4g}, {c.ci_high:.4g}]")
    prov = provenance(dict(sm.params))
    save_tsv(sm.output.summary, summary, prov)
    write_claims(sm.output.claims, claims, prov)
