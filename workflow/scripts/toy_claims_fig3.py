"""claims_fig3: the claims of Fig. 3 from the panel-(a) errors and the crossover table (glue;
logic in deepftle.circle.claims)."""
import pandas as pd

import deepftle.pipeline.files as dio
from deepftle.circle.claims import fig3_claims
from deepftle.pipeline.claims import write_claims

with dio.log_to(snakemake.log[0]):
    p = snakemake.params
    errors = pd.DataFrame([dict(N=net["N"], mode=net["mode"], seed=net["seed"],
                                test_error=dio.read_tsv(path).iloc[-1].test_error)
                           for net, path in zip(p.nets_a, snakemake.input.histories)])
    fit = dio.read_tsv(snakemake.input.fit).iloc[0].to_dict()
    claims = fig3_claims(errors, dio.read_tsv(snakemake.input.crossover), fit, p.min_accuracy)
    for c in claims:
        print(c, flush=True)
    write_claims(snakemake.output[0], claims,
                 dio.provenance(dict(min_accuracy=p.min_accuracy, nets_a=p.nets_a)))
