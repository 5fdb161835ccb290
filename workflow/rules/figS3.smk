# Fig. S3: the MNIST analysis of Fig. 4(b) (test error and H vs lambda_1) on harder data sets
# (mnist.figS3): fashion_mnist_data / cifar10_data -> train_figS3 (an MLP of the mnist.train
# layout and the figS2.cnn CNN per set, an ensemble of each) -> ftle_figS3 (lambda_1 of net 0, H
# of the ensemble) and bottleneck_figS3 (the MLP's bottleneck map) -> claims_figS3, plot_figS3.
# Helpers and file names in mnist_helpers.smk; every rule calls the function of
# deepftle.mnist.stages named like it (plots: deepftle.plots).


wildcard_constraints:
    dataset="fashion_mnist|cifar10",
    arch="mlp|cnn",


rule fashion_mnist_data:
    output:
        FASHION_FILES,
    params:
        data=FIGS3_CFG["fashion_mnist"]["data"],
    log:
        log_file("fashion_mnist_data"),
    benchmark:
        bench_file("fashion_mnist_data")
    conda:
        CONDA_ENV
    script:
        "../scripts/fashion_mnist_data.py"


rule cifar10_data:
    output:
        CIFAR10_FILE,
    params:
        local=FIGS3_CFG["cifar10"]["local"],
    log:
        log_file("cifar10_data"),
    benchmark:
        bench_file("cifar10_data")
    conda:
        CONDA_ENV
    script:
        "../scripts/cifar10_data.py"


rule train_figS3:
    input:
        data=figS3_data,
    output:
        net=figS3_path("{dataset}", "{arch}", "net{net}.pt"),
        history=figS3_path("{dataset}", "{arch}", "net{net}.history.tsv"),
    wildcard_constraints:
        net=r"\d+",
    params:
        train=MNIST_CFG["train"],
        arch=figS3_arch,
        net=figS3_net,
    log:
        log_file("train_figS3", "{dataset}/{arch}/net{net}"),
    benchmark:
        bench_file("train_figS3", "{dataset}/{arch}/net{net}")
    resources:
        **gpu_resources(),
    conda:
        CONDA_ENV
    script:
        "../scripts/train_figS3.py"


rule ftle_figS3:
    input:
        data=figS3_data,
        nets=expand(figS3_path("{{dataset}}", "{{arch}}", "net{net}.pt"), net=FIGS3_NETS),
        histories=expand(figS3_path("{{dataset}}", "{{arch}}", "net{net}.history.tsv"),
                         net=FIGS3_NETS),
    output:
        figS3_path("{dataset}", "{arch}", "ftle.npz"),
    params:
        train=MNIST_CFG["train"],
        arch=figS3_arch,
        n_test=FIGS3_CFG["n_test"],
        ftle=MNIST_CFG["ftle"],
    log:
        log_file("ftle_figS3", "{dataset}/{arch}"),
    benchmark:
        bench_file("ftle_figS3", "{dataset}/{arch}")
    resources:
        **gpu_resources(),
    conda:
        CONDA_ENV
    script:
        "../scripts/ftle_figS3.py"


rule bottleneck_figS3:
    input:
        data=figS3_data,
        net=figS3_path("{dataset}", "mlp", "net0.pt"),
    output:
        figS3_path("{dataset}", "bottleneck.npz"),
    params:
        train=MNIST_CFG["train"],
        arch=lambda wc: {"set": wc.dataset, "kind": "mlp", "cnn": FIGS2_CFG["cnn"]},
        bottleneck=MNIST_CFG["bottleneck"],
    log:
        log_file("bottleneck_figS3", "{dataset}"),
    benchmark:
        bench_file("bottleneck_figS3", "{dataset}")
    resources:
        **gpu_resources(),
    conda:
        CONDA_ENV
    script:
        "../scripts/bottleneck_figS3.py"


rule claims_figS3:
    input:
        ftles=[figS3_path(s, a, "ftle.npz") for s, a in figS3_pairs()],
    output:
        summary=report(figS3_path("summary.tsv"), caption="../report/tables.rst",
                       category="Summary tables", labels={"table": "Fig. S3 summary"}),
        claims=claims_file("figS3"),
    params:
        pairs=[list(p) for p in figS3_pairs()],
        min_accuracy={s: FIGS3_CFG[s]["min_accuracy"] for s in FIGS3_SETS},
        claims=config["claims"],
    log:
        log_file("claims_figS3"),
    benchmark:
        bench_file("claims_figS3")
    conda:
        CONDA_ENV
    script:
        "../scripts/claims_figS3.py"


rule plot_figS3:
    input:
        ftles=rules.claims_figS3.input.ftles,
        maps=[figS3_path(s, "bottleneck.npz") for s in FIGS3_SETS],
    output:
        pdf=os.path.join(RESULTS, "figures", "figS3.pdf"),
        png=report(os.path.join(RESULTS, "figures", "figS3.png"),
                   caption="../report/figS3.rst", category="Figure S3"),
        bins=os.path.join(RESULTS, "figures", "figS3_bins.tsv"),
    params:
        pairs=rules.claims_figS3.params.pairs,
        sets=FIGS3_SETS,
        n_bins=MNIST_CFG["fig4"]["n_bins"],
        min_accuracy=rules.claims_figS3.params.min_accuracy,
        state_of_the_art={s: FIGS3_CFG[s]["state_of_the_art"] for s in FIGS3_SETS},
    log:
        log_file("plot_figS3"),
    benchmark:
        bench_file("plot_figS3")
    conda:
        CONDA_ENV
    script:
        "../scripts/plot_figS3.py"
