# Figure 4: MNIST. data -> train -> ftle -> embed -> adversarial path -> summary, fig4.
# Stage bodies live in workflow/scripts/mnist_*.py / fig4_*.py; the logic in src/deepftle/.

MNIST_DIR = "resources/mnist"
MNIST_FILES = expand(
    os.path.join(MNIST_DIR, "{name}"),
    name=[
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ],
)
MNIST_OUT = os.path.join(RESULTS, "mnist")
FIG_DIR = os.path.join(RESULTS, "figures")
FIG4 = {
    "pdf": "fig4.pdf",
    "png": "fig4.png",
    "bins": "fig4_bins.tsv",
    "box": "fig4_box.tsv",
    "path": "fig4_path.tsv",
    "map": "fig4_map.tsv",
    "adv_pdf": "fig4_adversarial.pdf",
    "adv_png": "fig4_adversarial.png",
    "adv_bins": "fig4_adversarial_bins.tsv",
}
FIG4 = {key: os.path.join(FIG_DIR, name) for key, name in FIG4.items()}
FIG4_OUTPUTS = list(FIG4.values())
MNIST_SUMMARY = os.path.join(MNIST_OUT, "summary.tsv")

ALL_TARGETS.extend(FIG4_OUTPUTS + [MNIST_SUMMARY])


rule fig4:
    input:
        FIG4_OUTPUTS,
        MNIST_SUMMARY,


rule mnist_data:
    output:
        MNIST_FILES,
    params:
        data=config["mnist"]["data"],
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
        MNIST_FILES,
    output:
        net=os.path.join(MNIST_OUT, "net.pt"),
        history=os.path.join(MNIST_OUT, "history.tsv"),
    params:
        train=config["mnist"]["train"],
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


rule ftle_mnist:
    input:
        data=MNIST_FILES,
        net=rules.train_mnist.output.net,
    output:
        os.path.join(MNIST_OUT, "ftle.npz"),
    params:
        ftle=config["mnist"]["ftle"],
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


EMBED_INPUTS = {"data": MNIST_FILES}
if config["mnist"]["embed"]["method"] == "bottleneck":  # the 2-unit head needs the trained net
    EMBED_INPUTS["net"] = rules.train_mnist.output.net


rule embed_mnist:
    input:
        **EMBED_INPUTS,
    output:
        model=os.path.join(MNIST_OUT, "embedding.pkl"),
        coords=os.path.join(MNIST_OUT, "embedding.npz"),
    params:
        embed=config["mnist"]["embed"],
    log:
        log_file("embed_mnist"),
    benchmark:
        bench_file("embed_mnist")
    threads: config["mnist"]["embed"]["n_jobs"]
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
        embedding=rules.embed_mnist.output.model,
    output:
        os.path.join(MNIST_OUT, "adversarial.npz"),
    params:
        attack=config["mnist"]["adversarial"],
        transform_iter=config["mnist"]["embed"]["transform_iter"],
    log:
        log_file("adversarial_path"),
    benchmark:
        bench_file("adversarial_path")
    threads: 1
    resources:
        gpu=GPU,
        mem_mb=8000,
        runtime=60,
    conda:
        CONDA_ENV
    script:
        "../scripts/mnist_adversarial.py"


rule mnist_summary:
    input:
        history=rules.train_mnist.output.history,
        ftle=rules.ftle_mnist.output[0],
        coords=rules.embed_mnist.output.coords,
    output:
        report(MNIST_SUMMARY, caption="../report/tables.rst", category="Summary tables",
               labels={"table": "MNIST summary (Figure 4)"}),
    params:
        box_fraction=config["mnist"]["fig4"]["box_fraction"],
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
        coords=rules.embed_mnist.output.coords,
        path=rules.adversarial_path.output[0],
    output:
        **{k: v for k, v in FIG4.items() if k not in ("png", "adv_png")},
        png=report(FIG4["png"], caption="../report/fig4.rst", category="Figure 4"),
        adv_png=report(FIG4["adv_png"], caption="../report/fig4.rst", category="Figure 4"),
    params:
        fig=config["mnist"]["fig4"],
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
