# Figure 4: MNIST. data -> main net, ensemble members, width-sweep nets -> ftle (H from the
# ensemble) -> bottleneck map -> adversarial path -> claims, fig4; openTSNE map -> fig4_tsne.
# Stage bodies live in workflow/scripts/mnist_*.py / fig4_*.py; the logic in src/deepftle/.

include: "mnist_helpers.smk"


rule fig4:
    input:
        FIG4_OUTPUTS,


rule mnist_data:
    output:
        MNIST_FILES,
    params:
        data=MNIST_CFG["data"],
    log:
        log_file("mnist_data"),
    benchmark:
        bench_file("mnist_data")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    conda:
        CONDA_ENV
    script:
        "../scripts/mnist_data.py"


rule train_mnist:
    input:
        data=MNIST_FILES,
    output:
        net=mnist_path("net.pt"),
        history=mnist_path("history.tsv"),
    params:
        train=MNIST_CFG["train"],
        net={"seed": MNIST_CFG["train"]["seed"]},
    log:
        log_file("train_mnist"),
    benchmark:
        bench_file("train_mnist")
    threads: 1
    resources:
        gpu=GPU,
        mem_mb=4000,
        runtime=60,
    conda:
        CONDA_ENV
    script:
        "../scripts/mnist_train.py"


rule train_mnist_member:
    input:
        data=MNIST_FILES,
    output:
        net=mnist_path("ensemble", "member{member}.pt"),
        history=mnist_path("ensemble", "member{member}.history.tsv"),
    wildcard_constraints:
        member=r"[1-9]\d*",
    params:
        train=MNIST_CFG["train"],
        net=lambda w: mnist_member_net(int(w.member)),
    log:
        log_file("train_mnist_member", "member{member}"),
    benchmark:
        bench_file("train_mnist_member", "member{member}")
    threads: 1
    resources:
        gpu=GPU,
        mem_mb=4000,
        runtime=60,
    conda:
        CONDA_ENV
    script:
        "../scripts/mnist_train.py"


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
            train=MNIST_CFG["train"],
            nets=[mnist_member_net(m) for m in MEMBERS],
        log:
            log_file("train_mnist_ensemble"),
        benchmark:
            bench_file("train_mnist_ensemble")
        threads: 1
        resources:
            gpu=GPU,
            mem_mb=4000,
            runtime=120,
        conda:
            CONDA_ENV
        script:
            "../scripts/mnist_train_ensemble.py"

    ruleorder: train_mnist_ensemble > train_mnist_member


rule train_mnist_width:
    input:
        data=MNIST_FILES,
    output:
        net=mnist_path("widths", "N{width}.pt"),
        history=mnist_path("widths", "N{width}.history.tsv"),
    wildcard_constraints:
        width=r"\d+",
    params:
        train=SWEEP_TRAIN,
        net=lambda w: mnist_width_net(int(w.width)),
    log:
        log_file("train_mnist_width", "N{width}"),
    benchmark:
        bench_file("train_mnist_width", "N{width}")
    threads: 1
    resources:
        gpu=GPU,
        mem_mb=4000,
        runtime=60,
    conda:
        CONDA_ENV
    script:
        "../scripts/mnist_train.py"


rule ftle_mnist:
    input:
        data=MNIST_FILES,
        net=rules.train_mnist.output.net,
        members=expand(mnist_path("ensemble", "member{member}.pt"), member=MEMBERS),
    output:
        mnist_path("ftle.npz"),
    params:
        train=MNIST_CFG["train"],
        ftle=MNIST_CFG["ftle"],
    log:
        log_file("ftle_mnist"),
    benchmark:
        bench_file("ftle_mnist")
    threads: 1
    resources:
        gpu=GPU,
        mem_mb=4000,
        runtime=30,
    conda:
        CONDA_ENV
    script:
        "../scripts/mnist_ftle.py"


rule width_sweep:
    input:
        data=MNIST_FILES,
        nets=expand(mnist_path("widths", "N{width}.pt"), width=WIDTHS),
    output:
        mnist_path("width_sweep.tsv"),
    params:
        train=SWEEP_TRAIN,
        widths=WIDTHS,
        n_test=MNIST_CFG["width_sweep"]["n_test"],
        ftle=MNIST_CFG["ftle"],
    log:
        log_file("width_sweep"),
    benchmark:
        bench_file("width_sweep")
    threads: 1
    resources:
        gpu=GPU,
        mem_mb=4000,
        runtime=30,
    conda:
        CONDA_ENV
    script:
        "../scripts/mnist_width_sweep.py"


rule bottleneck_mnist:
    input:
        data=MNIST_FILES,
        net=rules.train_mnist.output.net,
    output:
        net=mnist_path("bottleneck.pt"),
        coords=mnist_path("bottleneck.npz"),
    params:
        train=MNIST_CFG["train"],
        bottleneck=MNIST_CFG["bottleneck"],
    log:
        log_file("bottleneck_mnist"),
    benchmark:
        bench_file("bottleneck_mnist")
    threads: 1
    resources:
        gpu=GPU,
        mem_mb=4000,
        runtime=30,
    conda:
        CONDA_ENV
    script:
        "../scripts/mnist_bottleneck.py"


rule embed_mnist:
    input:
        data=MNIST_FILES,
        net=rules.train_mnist.output.net,
    output:
        model=mnist_path("embedding.pkl"),
        coords=mnist_path("embedding.npz"),
    params:
        train=MNIST_CFG["train"],
        tsne=MNIST_CFG["tsne"],
    log:
        log_file("embed_mnist"),
    benchmark:
        bench_file("embed_mnist")
    threads: MNIST_CFG["tsne"]["n_jobs"]
    resources:
        mem_mb=8000,
        runtime=60,
    conda:
        CONDA_ENV
    script:
        "../scripts/mnist_embed.py"


rule adversarial_path:
    input:
        data=MNIST_FILES,
        net=rules.train_mnist.output.net,
        bottleneck=rules.bottleneck_mnist.output.net,
        coords=rules.bottleneck_mnist.output.coords,
    output:
        mnist_path("adversarial.npz"),
    params:
        train=MNIST_CFG["train"],
        attack=MNIST_CFG["adversarial"],
    log:
        log_file("adversarial_path"),
    benchmark:
        bench_file("adversarial_path")
    threads: 1
    resources:
        gpu=GPU,
        mem_mb=4000,
        runtime=60,
    conda:
        CONDA_ENV
    script:
        "../scripts/mnist_adversarial.py"


rule adversarial_tsne:
    input:
        path=rules.adversarial_path.output[0],
        net=rules.train_mnist.output.net,
        embedding=rules.embed_mnist.output.model,
    output:
        mnist_path("adversarial_tsne.npz"),
    params:
        train=MNIST_CFG["train"],
        tsne=MNIST_CFG["tsne"],
    log:
        log_file("adversarial_tsne"),
    benchmark:
        bench_file("adversarial_tsne")
    threads: MNIST_CFG["tsne"]["n_jobs"]
    resources:
        mem_mb=8000,
        runtime=30,
    conda:
        CONDA_ENV
    script:
        "../scripts/mnist_adversarial_tsne.py"


rule mnist_summary:
    input:
        history=rules.train_mnist.output.history,
        ftle=rules.ftle_mnist.output[0],
        coords=rules.bottleneck_mnist.output.coords,
        path=rules.adversarial_path.output[0],
        widths=rules.width_sweep.output[0],
    output:
        summary=report(MNIST_SUMMARY, caption="../report/tables.rst",
                       category="Summary tables", labels={"table": "MNIST summary (Figure 4)"}),
        claims=FIG4_CLAIMS,
    params:
        box_fraction=MNIST_CFG["fig4"]["box_fraction"],
        paper_accuracy=MNIST_CFG["paper_accuracy"],
    log:
        log_file("mnist_summary"),
    benchmark:
        bench_file("mnist_summary")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
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
        sweep=dict(SWEEP_TRAIN, epochs=MNIST_CFG["width_sweep"]["epochs"]),
        main=MNIST_CFG["train"],
    log:
        log_file("plot_fig4"),
    benchmark:
        bench_file("plot_fig4")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        CONDA_ENV
    script:
        "../scripts/fig4_plot.py"


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
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        CONDA_ENV
    script:
        "../scripts/fig4_adversarial_plot.py"


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
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        CONDA_ENV
    script:
        "../scripts/fig4_tsne_plot.py"
