# Fig. S2: the MNIST analysis of Fig. 4(b) (test error and H vs lambda_1) for another
# architecture (mnist.figS2.arch: cnn or resmlp). data -> the nets of its ensemble (one job
# each) -> lambda_1 of net 0, H of the ensemble -> claims, figS2. Helpers and file names in
# mnist_helpers.smk; every rule calls
# the function of deepftle.mnist.stages named like it (plots: deepftle.plots).


rule train_mnist_figS2:
    input:
        data=MNIST_FILES,
    output:
        net=figS2_path("net{net}.pt"),
        history=figS2_path("net{net}.history.tsv"),
    wildcard_constraints:
        net=r"\d+",
    params:
        train=FIGS2_TRAIN,
        arch=figS2_arch(),
        net=lambda w: figS2_net(int(w.net)),
    log:
        log_file("train_mnist_figS2", "net{net}"),
    benchmark:
        bench_file("train_mnist_figS2", "net{net}")
    resources:
        **gpu_resources(),
    conda:
        CONDA_ENV
    script:
        "../scripts/train_mnist_figS2.py"


rule ftle_mnist_figS2:
    input:
        data=MNIST_FILES,
        nets=[figS2_path(f"net{n}.pt") for n in FIGS2_NETS],
        histories=[figS2_path(f"net{n}.history.tsv") for n in FIGS2_NETS],
    output:
        figS2_path("ftle.npz"),
    params:
        train=FIGS2_TRAIN,
        arch=figS2_arch(),
        n_test=FIGS2_CFG["n_test"],
        ftle=MNIST_CFG["ftle"],
    log:
        log_file("ftle_mnist_figS2"),
    benchmark:
        bench_file("ftle_mnist_figS2")
    resources:
        **gpu_resources(),
    conda:
        CONDA_ENV
    script:
        "../scripts/ftle_mnist_figS2.py"


rule claims_figS2:
    input:
        ftle=rules.ftle_mnist_figS2.output[0],
    output:
        summary=report(figS2_path("summary.tsv"), caption="../report/tables.rst",
                       category="Summary tables", labels={"table": "MNIST summary (Figure S2)"}),
        claims=claims_file("figS2"),
    params:
        min_accuracy=FIGS2_CFG["min_accuracy"],
        claims=config["claims"],
    log:
        log_file("claims_figS2"),
    benchmark:
        bench_file("claims_figS2")
    conda:
        CONDA_ENV
    script:
        "../scripts/claims_figS2.py"


rule plot_figS2:
    input:
        ftle=rules.ftle_mnist_figS2.output[0],
    output:
        **{k: v for k, v in FIGS2.items() if k != "png"},
        png=report(FIGS2["png"], caption="../report/figS2.rst", category="Figure S2"),
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
