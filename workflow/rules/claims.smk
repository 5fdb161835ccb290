# Claims: every figure stage writes results/claims/<figure>.tsv (figure, claim, value,
# threshold, holds) and appends it to CLAIM_FILES; this rule gathers them into one table,
# shown in the report and printed at the end of `make figures`. Included after every stage.
CLAIMS_ALL = os.path.join(RESULTS, "claims.tsv")


rule claims:
    input:
        CLAIM_FILES,
    output:
        report(CLAIMS_ALL, caption="../report/claims.rst", category="Claims"),
    log:
        log_file("claims"),
    benchmark:
        bench_file("claims")
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        CONDA_ENV
    script:
        "../scripts/claims_gather.py"


if CLAIM_FILES:
    ALL_TARGETS.append(CLAIMS_ALL)
