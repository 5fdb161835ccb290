# The analysis of Fig. 4(b) for any net and data set (deepftle.images.analysis), one folder per
# analysis, results/analyses/<name>/:
#   <set>_data or the user's .npz -> train_analysis_net (one job per net; or the user's
#   checkpoints) -> ftle_analysis (lambda.tsv, ftle.npz) -> claims_analysis, embed_analysis
#   (openTSNE) -> plot_analysis (figure.pdf/.png)
# Figs. S2 and S3 gather their analyses: claims_figS2/S3, plot_figS2/S3 (and bottleneck_analysis,
# the MLP's map of Fig. S3). Targets: `analyses` (every user analysis), `analysis_<name>`.

include: "analyses_helpers.smk"


wildcard_constraints:
    analysis="|".join(re.escape(n) for n in ANALYSES),


rule train_analysis_net:
    input:
        data=analysis_data,
        code=analysis_code,
    output:
        net=analysis_path("{analysis}", "net{net}.pt"),
        history=analysis_path("{analysis}", "net{net}.history.tsv"),
    wildcard_constraints:
        net=r"\d+",
    params:
        entry=analysis_entry,
    log:
        log_file("train_analysis_net", "{analysis}/net{net}"),
    benchmark:
        bench_file("train_analysis_net", "{analysis}/net{net}")
    resources:
        **gpu_resources(),
    conda:
        CONDA_ENV
    script:
        "../scripts/train_analysis_net.py"


rule ftle_analysis:
    input:
        data=analysis_data,
        code=analysis_code,
        nets=analysis_nets,
        histories=analysis_histories,
    output:
        arrays=analysis_path("{analysis}", "ftle.npz"),
        table=analysis_path("{analysis}", "lambda.tsv"),
    params:
        entry=analysis_entry,
        ftle=MNIST_CFG["ftle"],
    log:
        log_file("ftle_analysis", "{analysis}"),
    benchmark:
        bench_file("ftle_analysis", "{analysis}")
    resources:
        **gpu_resources(),
    conda:
        CONDA_ENV
    script:
        "../scripts/ftle_analysis.py"


rule claims_analysis:
    input:
        arrays=rules.ftle_analysis.output.arrays,
    output:
        claims=analysis_path("{analysis}", "claims.tsv"),
        summary=analysis_path("{analysis}", "summary.tsv"),
    params:
        entry=analysis_entry,
        claims=config["claims"],
    log:
        log_file("claims_analysis", "{analysis}"),
    benchmark:
        bench_file("claims_analysis", "{analysis}")
    conda:
        CONDA_ENV
    script:
        "../scripts/claims_analysis.py"


rule embed_analysis:
    input:
        data=analysis_data,
        arrays=rules.ftle_analysis.output.arrays,
    output:
        analysis_path("{analysis}", "tsne.npz"),
    params:
        entry=analysis_entry,
        tsne={k: MNIST_CFG["tsne"][k] for k in
              ("perplexity", "pca", "n_jobs", "seed", "n_iter", "early_exaggeration_iter")},
    log:
        log_file("embed_analysis", "{analysis}"),
    benchmark:
        bench_file("embed_analysis", "{analysis}")
    conda:
        CONDA_ENV
    script:
        "../scripts/embed_analysis.py"


rule plot_analysis:
    input:
        arrays=rules.ftle_analysis.output.arrays,
        tsne=rules.embed_analysis.output[0],
    output:
        pdf=analysis_path("{analysis}", "figure.pdf"),
        png=analysis_path("{analysis}", "figure.png"),
        bins=analysis_path("{analysis}", "bins.tsv"),
    params:
        entry=analysis_entry,
        n_bins=MNIST_CFG["fig4"]["n_bins"],
    log:
        log_file("plot_analysis", "{analysis}"),
    benchmark:
        bench_file("plot_analysis", "{analysis}")
    conda:
        CONDA_ENV
    script:
        "../scripts/plot_analysis.py"


rule bottleneck_analysis:
    input:
        data=analysis_data,
        net=analysis_path("{analysis}", "net0.pt"),
    output:
        analysis_path("{analysis}", "bottleneck.npz"),
    params:
        entry=analysis_entry,
        bottleneck=MNIST_CFG["bottleneck"],
    log:
        log_file("bottleneck_analysis", "{analysis}"),
    benchmark:
        bench_file("bottleneck_analysis", "{analysis}")
    resources:
        **gpu_resources(),
    conda:
        CONDA_ENV
    script:
        "../scripts/bottleneck_analysis.py"


rule claims_figS2:
    input:
        arrays=[analysis_path(FIGS2_NAME, "ftle.npz")],
    output:
        summary=report(os.path.join(FIG_DIR, "figS2_summary.tsv"),
                       caption="../report/tables.rst", category="Summary tables",
                       labels={"table": "Fig. S2 summary"}),
        claims=claims_file("figS2"),
    params:
        instances=[[ANALYSES[FIGS2_NAME]["set"], ANALYSES[FIGS2_NAME]["kind"]]],
        min_accuracy=[FIGS2_CFG["min_accuracy"]],
        name_sets=False,
        claims=config["claims"],
    log:
        log_file("claims_figS2"),
    benchmark:
        bench_file("claims_figS2")
    conda:
        CONDA_ENV
    script:
        "../scripts/claims_figure.py"


rule claims_figS3:
    input:
        arrays=[analysis_path(n, "ftle.npz") for n in FIGS3_NAMES],
    output:
        summary=report(os.path.join(FIG_DIR, "figS3_summary.tsv"),
                       caption="../report/tables.rst", category="Summary tables",
                       labels={"table": "Fig. S3 summary"}),
        claims=claims_file("figS3"),
    params:
        instances=[[ANALYSES[n]["set"], ANALYSES[n]["kind"]] for n in FIGS3_NAMES],
        min_accuracy=[ANALYSES[n]["entry"]["min_accuracy"] for n in FIGS3_NAMES],
        name_sets=True,
        claims=config["claims"],
    log:
        log_file("claims_figS3"),
    benchmark:
        bench_file("claims_figS3")
    conda:
        CONDA_ENV
    script:
        "../scripts/claims_figure.py"


rule plot_figS2:
    input:
        arrays=rules.claims_figS2.input.arrays[0],
    output:
        pdf=os.path.join(FIG_DIR, "figS2.pdf"),
        png=report(os.path.join(FIG_DIR, "figS2.png"), caption="../report/figS2.rst",
                   category="Figure S2"),
        bins=os.path.join(FIG_DIR, "figS2_bins.tsv"),
    params:
        n_bins=MNIST_CFG["fig4"]["n_bins"],
        min_accuracy=FIGS2_CFG["min_accuracy"],
    log:
        log_file("plot_figS2"),
    benchmark:
        bench_file("plot_figS2")
    conda:
        CONDA_ENV
    script:
        "../scripts/plot_figS2.py"


rule plot_figS3:
    input:
        arrays=rules.claims_figS3.input.arrays,
        maps=[analysis_path(f"{s}-mlp", "bottleneck.npz") for s in FIGS3_SETS],
    output:
        pdf=os.path.join(FIG_DIR, "figS3.pdf"),
        png=report(os.path.join(FIG_DIR, "figS3.png"), caption="../report/figS3.rst",
                   category="Figure S3"),
        bins=os.path.join(FIG_DIR, "figS3_bins.tsv"),
    params:
        instances=rules.claims_figS3.params.instances,
        sets=FIGS3_SETS,
        n_bins=MNIST_CFG["fig4"]["n_bins"],
        min_accuracy={s: FIGS3_CFG[s]["min_accuracy"] for s in FIGS3_SETS},
        state_of_the_art={s: FIGS3_CFG[s]["state_of_the_art"] for s in FIGS3_SETS},
    log:
        log_file("plot_figS3"),
    benchmark:
        bench_file("plot_figS3")
    conda:
        CONDA_ENV
    script:
        "../scripts/plot_figS3.py"


rule analyses:
    input:
        [f for name in USER_ANALYSES for f in analysis_targets(name)],


for _name in ANALYSES:

    rule:
        name:
            f"analysis_{_name}"
        input:
            analysis_targets(_name),
