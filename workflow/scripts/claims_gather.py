"""claims: gather every figure's claims table into results/claims.tsv (glue)."""
import deepftle.pipeline.files as dio
from deepftle.pipeline.claims import gather_claims

with dio.log_to(snakemake.log[0]):
    table = gather_claims(snakemake.input)
    print(table.to_string(index=False))
    dio.save_tsv(snakemake.output[0], table, dio.provenance({"inputs": list(snakemake.input)}))
