# The target rules: one per figure (its files, common.smk's figure_targets) and `claims`, which
# gathers every figure's results/claims/<figure>.tsv into results/claims.tsv (shown in the
# report and printed at the end of `make figures`); plot_claims draws each figure's claims as a
# forest plot. Included after every stage file.


for _figure in FIGURES:

    rule:
        name:
            _figure
        input:
            figure_targets(_figure),


rule plot_claims:
    input:
        claims_file("{figure}"),
    output:
        pdf=forest_file("{figure}", ".pdf"),
        png=report(forest_file("{figure}", ".png"), caption="../report/claims.rst",
                   category="Claims"),
    wildcard_constraints:
        figure="|".join(CLAIMED_FIGURES),
    log:
        log_file("plot_claims", "{figure}"),
    benchmark:
        bench_file("plot_claims", "{figure}")
    conda:
        CONDA_ENV
    script:
        "../scripts/plot_claims.py"


rule claims:
    input:
        [claims_file(f) for f in CLAIMED_FIGURES],
    output:
        report(CLAIMS_ALL, caption="../report/claims.rst", category="Claims"),
    log:
        log_file("claims"),
    benchmark:
        bench_file("claims")
    conda:
        CONDA_ENV
    script:
        "../scripts/claims.py"
