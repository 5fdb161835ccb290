"""lam1_training: quantiles of lambda_1 over the test inputs at every saved epoch of the Fig. S1
nets, and the claim of Fig. S1 (glue; logic in deepftle.plots.figS1, deepftle.circle.claims)."""
import pandas as pd

import deepftle.pipeline.files as dio
from deepftle.circle.claims import figS1_claims
from deepftle.circle.fields import summarise_lam1
from deepftle.pipeline.claims import write_claims

with dio.log_to(snakemake.log[0]):
    nets = snakemake.params.nets
    lam = []
    for net, path in zip(nets, snakemake.input.snapshots):
        d, _ = dio.load_npz(path)
        lam.append(summarise_lam1(float(net["s"]), d["epochs"], d["lam1"]))
    lam = pd.concat(lam, ignore_index=True)
    prov = dio.provenance(dict(nets=nets))
    dio.save_tsv(snakemake.output.table, lam, prov)
    write_claims(snakemake.output.claims, figS1_claims(lam), prov)
