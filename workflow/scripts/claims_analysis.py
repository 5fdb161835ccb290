"""claims_analysis: the claims of Fig. 4(b) for one analysis (claims.tsv) and its summary."""

from deepftle.images import analysis
from deepftle.pipeline.claims import ClaimSettings, write_claims
from deepftle.pipeline.files import load_npz, provenance, save_tsv
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm):
    spec = analysis.AnalysisSpec.from_config(sm.wildcards.analysis, dict(sm.params.entry))
    arrays, _ = load_npz(sm.input.arrays)
    claims, summary = analysis.claims_analysis(
        spec, arrays, settings=ClaimSettings.from_config(sm.params.claims)
    )
    for c in claims:
        print(f"{c.status}: {c.claim}: {c.estimate:.4g} [{c.ci_low:.4g}, {c.ci_high:.4g}]")
    prov = provenance(dict(sm.params))
    write_claims(sm.output.claims, claims, prov)
    save_tsv(sm.output.summary, summary, prov)
