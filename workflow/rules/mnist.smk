# Figure 4: MNIST (config section `mnist`). Every arrow a file; every rule calls the function of
# deepftle.images.stages named like it or its output (plots: deepftle.plots):
#   mnist_data (datasets.smk) -> train_mnist, train_mnist_member (or train_mnist_ensemble), train_mnist_width
#   -> ftle_mnist (lambda_1 of every image; H of the ensemble), width_sweep
#   -> bottleneck_mnist (the map of Fig. 4a) -> adversarial_path, attack_paths (many starts)
#   -> mnist_summary (+ claims fig4)
#   -> plot_fig4, plot_fig4_adversarial;  embed_mnist (openTSNE) -> adversarial_tsne
#   -> plot_fig4_tsne

include: "mnist_helpers.smk"


rule train_mnist:
    input:
        data=MNIST_FILES,
    output:
        net=mnist_path("net.pt"),
        history=mnist_path("history.tsv"),
    params:
        spec=mnist_main_net(0),
    log:
        log_file("train_mnist"),
    benchmark:
        bench_file("train_mnist")
    resources:
        **gpu_resources(runtime=240, mem_mb=8000),
    conda:
        CONDA_ENV
    script:
        "../scripts/train_mnist.py"


# The main net's other realisations, the ensemble members (member 0 is the main net) and the
# width-sweep nets, one job per net:
# the same script as train_mnist, each net with its own seed and epochs (mnist_helpers.smk).
for _kind in MNIST_NET_KINDS:

    rule:
        name:
            f"train_mnist_{_kind}"
        input:
            data=MNIST_FILES,
        output:
            net=mnist_net_file(_kind, ".pt"),
            history=mnist_net_file(_kind, ".history.tsv"),
        wildcard_constraints:
            **MNIST_NET_KINDS[_kind]["constraints"],
        params:
            spec=lambda w, kind=_kind: mnist_net_params(kind, w),
        log:
            log_file(f"train_mnist_{_kind}", MNIST_NET_KINDS[_kind]["stem"]),
        benchmark:
            bench_file(f"train_mnist_{_kind}", MNIST_NET_KINDS[_kind]["stem"])
        resources:
            **gpu_resources(**MNIST_NET_KINDS[_kind].get("resources", {})),
        conda:
            CONDA_ENV
        script:
            "../scripts/train_mnist.py"


# Members 1 .. M-1 as one population job (deepftle.nets.population) when the layout is narrow
# (population.max_width): the same files as train_mnist_member writes, up to rounding.
if SEEDS.trains_as_population(MNIST_CFG["train"]["width"], config["population"]["max_width"]) and MEMBERS:

    rule train_mnist_ensemble:
        input:
            data=MNIST_FILES,
        output:
            nets=[mnist_path("ensemble", f"member{m}.pt") for m in MEMBERS],
            histories=[mnist_path("ensemble", f"member{m}.history.tsv") for m in MEMBERS],
        params:
            specs=[mnist_member_net(m) for m in MEMBERS],
        log:
            log_file("train_mnist_ensemble"),
        benchmark:
            bench_file("train_mnist_ensemble")
        resources:
            **gpu_resources(runtime=120),
        conda:
            CONDA_ENV
        script:
            "../scripts/train_mnist_ensemble.py"

    ruleorder: train_mnist_ensemble > train_mnist_member


rule ftle_mnist:
    input:
        data=MNIST_FILES,
        net=rules.train_mnist.output.net,
        members=expand(mnist_path("ensemble", "member{member}.pt"), member=MEMBERS),
    output:
        mnist_path("ftle.npz"),
    params:
        arch=MNIST_ARCH,
        ftle=MNIST_CFG["ftle"],
    log:
        log_file("ftle_mnist"),
    benchmark:
        bench_file("ftle_mnist")
    resources:
        **gpu_resources(mem_mb=8000),
    conda:
        CONDA_ENV
    script:
        "../scripts/ftle_mnist.py"


rule ftle_mnist_mains:
    input:
        data=MNIST_FILES,
        nets=[rules.train_mnist.output.net] + [mnist_path("mains", f"net{k}.pt") for k in MAINS],
        histories=[rules.train_mnist.output.history]
        + [mnist_path("mains", f"net{k}.history.tsv") for k in MAINS],
        members=expand(mnist_path("ensemble", "member{member}.pt"), member=MEMBERS),
    output:
        mnist_path("mains.npz"),
    params:
        arch=MNIST_ARCH,
        ftle=MNIST_CFG["ftle"],
    log:
        log_file("ftle_mnist_mains"),
    benchmark:
        bench_file("ftle_mnist_mains")
    resources:
        **gpu_resources(mem_mb=8000),
    conda:
        CONDA_ENV
    script:
        "../scripts/ftle_mnist_mains.py"


rule width_sweep:
    input:
        data=MNIST_FILES,
        nets=[mnist_width_file(w, r, ".pt") for w, r in WIDTH_NETS],
    output:
        mnist_path("width_sweep.tsv"),
    params:
        specs=[mnist_width_net(w, r) for w, r in WIDTH_NETS],
        realisations=[r for _, r in WIDTH_NETS],
        n_test=MNIST_CFG["width_sweep"]["n_test"],
        min_accuracy=MNIST_CFG["width_sweep"]["min_accuracy"],
        ftle=MNIST_CFG["ftle"],
    log:
        log_file("width_sweep"),
    benchmark:
        bench_file("width_sweep")
    resources:
        **gpu_resources(),
    conda:
        CONDA_ENV
    script:
        "../scripts/width_sweep.py"


rule bottleneck_mnist:
    input:
        data=MNIST_FILES,
        net=rules.train_mnist.output.net,
    output:
        net=mnist_path("bottleneck.pt"),
        coords=mnist_path("bottleneck.npz"),
    params:
        arch=MNIST_ARCH,
        bottleneck=MNIST_CFG["bottleneck"],
    log:
        log_file("bottleneck_mnist"),
    benchmark:
        bench_file("bottleneck_mnist")
    resources:
        **gpu_resources(),
    conda:
        CONDA_ENV
    script:
        "../scripts/bottleneck_mnist.py"


rule embed_mnist:
    input:
        data=MNIST_FILES,
        net=rules.train_mnist.output.net,
    output:
        model=mnist_path("embedding.pkl"),
        coords=mnist_path("embedding.npz"),
    params:
        arch=MNIST_ARCH,
        tsne=MNIST_CFG["tsne"],
    log:
        log_file("embed_mnist"),
    benchmark:
        bench_file("embed_mnist")
    threads: MNIST_CFG["tsne"]["n_jobs"]
    resources:
        mem_mb=8000,
    conda:
        CONDA_ENV
    script:
        "../scripts/embed_mnist.py"


rule adversarial_path:
    input:
        data=MNIST_FILES,
        net=rules.train_mnist.output.net,
        bottleneck=rules.bottleneck_mnist.output.net,
        coords=rules.bottleneck_mnist.output.coords,
    output:
        mnist_path("adversarial.npz"),
    params:
        arch=MNIST_ARCH,
        attack=MNIST_CFG["adversarial"],
    log:
        log_file("adversarial_path"),
    benchmark:
        bench_file("adversarial_path")
    resources:
        **gpu_resources(),
    conda:
        CONDA_ENV
    script:
        "../scripts/adversarial_path.py"


rule attack_paths:
    input:
        data=MNIST_FILES,
        net=rules.train_mnist.output.net,
        coords=rules.bottleneck_mnist.output.coords,
    output:
        mnist_path("attack_paths.tsv"),
    params:
        arch=MNIST_ARCH,
        attack=MNIST_CFG["adversarial"],
    log:
        log_file("attack_paths"),
    benchmark:
        bench_file("attack_paths")
    resources:
        **gpu_resources(),
    conda:
        CONDA_ENV
    script:
        "../scripts/attack_paths.py"


rule adversarial_tsne:
    input:
        path=rules.adversarial_path.output[0],
        net=rules.train_mnist.output.net,
        embedding=rules.embed_mnist.output.model,
    output:
        mnist_path("adversarial_tsne.npz"),
    params:
        arch=MNIST_ARCH,
        tsne=MNIST_CFG["tsne"],
    log:
        log_file("adversarial_tsne"),
    benchmark:
        bench_file("adversarial_tsne")
    threads: MNIST_CFG["tsne"]["n_jobs"]
    resources:
        mem_mb=8000,
    conda:
        CONDA_ENV
    script:
        "../scripts/adversarial_tsne.py"


rule mnist_summary:
    input:
        history=rules.train_mnist.output.history,
        ftle=rules.ftle_mnist.output[0],
        coords=rules.bottleneck_mnist.output.coords,
        path=rules.adversarial_path.output[0],
        widths=rules.width_sweep.output[0],
        paths=rules.attack_paths.output[0],
        mains=rules.ftle_mnist_mains.output[0],
        published=PUBLISHED,
    output:
        summary=report(mnist_path("summary.tsv"), caption="../report/tables.rst",
                       category="Summary tables", labels={"table": "MNIST summary (Figure 4)"}),
        claims=claims_file("fig4"),
    params:
        box_fraction=MNIST_CFG["fig4"]["box_fraction"],
        paper_accuracy=MNIST_CFG["paper_accuracy"],
        claims=config["claims"],
    log:
        log_file("mnist_summary"),
    benchmark:
        bench_file("mnist_summary")
    conda:
        CONDA_ENV
    script:
        "../scripts/mnist_summary.py"


rule plot_fig4:
    input:
        ftle=rules.ftle_mnist.output[0],
        coords=rules.bottleneck_mnist.output.coords,
        path=rules.adversarial_path.output[0],
        widths=rules.width_sweep.output[0],
    output:
        **{k: v for k, v in FIG4.items() if k != "png"},
        png=report(FIG4["png"], caption="../report/fig4.rst", category="Figure 4"),
    params:
        fig=MNIST_CFG["fig4"],
        sweep=mnist_width_net(WIDTHS[0], 0),
        main=mnist_main_net(0),
    log:
        log_file("plot_fig4"),
    benchmark:
        bench_file("plot_fig4")
    conda:
        CONDA_ENV
    script:
        "../scripts/plot_fig4.py"


rule plot_fig4_adversarial:
    input:
        path=rules.adversarial_path.output[0],
    output:
        **{k: v for k, v in FIG4_ATTACK.items() if k != "png"},
        png=report(FIG4_ATTACK["png"], caption="../report/fig4_adversarial.rst",
                   category="Figure 4"),
    log:
        log_file("plot_fig4_adversarial"),
    benchmark:
        bench_file("plot_fig4_adversarial")
    conda:
        CONDA_ENV
    script:
        "../scripts/plot_fig4_adversarial.py"


rule plot_fig4_tsne:
    input:
        ftle=rules.ftle_mnist.output[0],
        coords=rules.embed_mnist.output.coords,
        path=rules.adversarial_tsne.output[0],
    output:
        **{k: v for k, v in FIG4_TSNE.items() if k != "png"},
        png=report(FIG4_TSNE["png"], caption="../report/fig4_tsne.rst", category="Figure 4"),
    params:
        fig=MNIST_CFG["fig4"],
    log:
        log_file("plot_fig4_tsne"),
    benchmark:
        bench_file("plot_fig4_tsne")
    conda:
        CONDA_ENV
    script:
        "../scripts/plot_fig4_tsne.py"
