# What every stage file shares: result paths, log and benchmark locations, the software
# environment, GPU resources, the figure targets. Functions and constants only; rules live in
# the stage files (datasets.smk, circle.smk, mnist.smk, analyses.smk) and in targets.smk.
import importlib.util
import os

# deepftle.pipeline.seeds loaded by path: job seeds and the grouping predicate have one owner,
# and the package (which imports torch) stays out of the workflow's parse
_spec = importlib.util.spec_from_file_location(
    "deepftle_seeds", os.path.join(workflow.basedir, "src", "deepftle", "pipeline", "seeds.py"))
SEEDS = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(SEEDS)
# deepftle.images.protocol likewise: a protocol section (mnist.train) split into the plain net
# spec every training job passes to deepftle.images.nets.NetSpec.from_config
_spec = importlib.util.spec_from_file_location(
    "deepftle_protocol",
    os.path.join(workflow.basedir, "src", "deepftle", "images", "protocol.py"))
PROTOCOL = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(PROTOCOL)
protocol_net = PROTOCOL.protocol_net
PROTOCOL_LAYOUT = PROTOCOL.PROTOCOL_LAYOUT

RESULTS = "results"
# the files each image data set's rule writes (datasets.smk); the names are those the readers of
# deepftle.images.data and deepftle.images.cifar expect
_IDX = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte")
DATASET_FILES = {
    "mnist": [os.path.join("resources", "mnist", n) for n in _IDX],
    "fashion_mnist": [os.path.join("resources", "fashion_mnist", n) for n in _IDX],
    "cifar10": [os.path.join("resources", "cifar10", "cifar10.npz")],
}
FIG_DIR = os.path.join(RESULTS, "figures")
CLAIMS_ALL = os.path.join(RESULTS, "claims.tsv")
# the values read off the published figures that magnitude claims are held against
PUBLISHED = os.path.join(workflow.basedir, "config", "published.tsv")
# The target rules, in the order their claims appear in results/claims.tsv; Fig. 1 (the data
# and the network layout) states no claim.
FIGURES = ("fig1", "fig2", "fig3", "figS1", "fig4", "figS2", "figS3")
CLAIMED_FIGURES = tuple(f for f in FIGURES if f != "fig1")

# Software of every rule: environment.yml (the env `conda env create -f environment.yml` makes).
# Used only with `--use-conda`; otherwise jobs run in the current env. A file, not the env name
# `deepftle`: for a named env Snakemake runs `conda env export` to record every job's software,
# which fails on machines without conda even when --use-conda is not given.
CONDA_ENV = os.path.join(workflow.basedir, "environment.yml")


def claims_file(figure):
    """results/claims/<figure>.tsv: the figure's claims (deepftle.pipeline.claims.write_claims)."""
    return os.path.join(RESULTS, "claims", f"{figure}.tsv")


def forest_file(figure, ext):
    """results/figures/claims_<figure><ext>: the forest plot of a figure's claims."""
    return os.path.join(FIG_DIR, f"claims_{figure}{ext}")


def log_file(rule_name, pattern=""):
    """results/logs/<rule>/<wildcards>.log"""
    return os.path.join(RESULTS, "logs", rule_name, (pattern or "main") + ".log")


def bench_file(rule_name, pattern=""):
    """results/benchmarks/<rule>/<wildcards>.tsv"""
    return os.path.join(RESULTS, "benchmarks", rule_name, (pattern or "main") + ".tsv")


def _uses_cuda():
    """Whether training and FTLE jobs will run on a GPU: device cuda, or auto on a machine
    with one (config `device`; where Snakemake itself runs decides `auto`)."""
    import shutil

    if config["device"] == "cuda":
        return True
    return config["device"] == "auto" and shutil.which("nvidia-smi") is not None


def gpu_resources(**overrides):
    """The resources of a GPU rule (one that trains or computes FTLEs), with the rule's own
    `overrides` (runtime, mem_mb). `gpu` is 1 where jobs use CUDA, so `--resources gpu=K` bounds
    how many run at once (each locks its own device). Where the config names
    `slurm_gpu_partition` (the SLURM profile sets it), every GPU rule, and no other, goes to
    that partition with one GPU."""
    res = dict(gpu=int(_uses_cuda()), **overrides)
    if config.get("slurm_gpu_partition"):
        res.update(gpu=1, slurm_partition=config["slurm_gpu_partition"])
    return res


def figure_targets(figure):
    """The files that the target `figure` makes, i.e. the figure (PDF and PNG), the tables
    behind it and its claims. Called once every stage file is included (it reads their
    rules)."""
    files = {
        "fig1": lambda: list(rules.plot_fig1.output),
        "fig2": lambda: list(rules.plot_fig2.output) + [rules.ridge_metrics.output.ridges],
        "fig3": lambda: list(rules.plot_fig3.output) + list(rules.crossover.output),
        "figS1": lambda: list(rules.plot_figS1.output) + [rules.lam1_training.output.table],
        "fig4": lambda: (list(rules.plot_fig4.output) + list(rules.plot_fig4_adversarial.output)
                         + list(rules.plot_fig4_tsne.output)
                         + [rules.mnist_summary.output.summary]),
        "figS2": lambda: (list(rules.plot_figS2.output) + [rules.claims_figS2.output.summary]
                          + [analysis_path(FIGS2_NAME, "lambda.tsv")]),
        "figS3": lambda: (list(rules.plot_figS3.output) + [rules.claims_figS3.output.summary]
                          + [analysis_path(n, "lambda.tsv") for n in FIGS3_NAMES]),
    }[figure]()
    claimed = figure in CLAIMED_FIGURES
    return files + ([claims_file(figure), forest_file(figure, ".pdf"),
                     forest_file(figure, ".png")] if claimed else [])


def final_targets():
    """What `all` makes: every figure's files, the gathered claims table and every analysis the
    config's `analyses:` section names (analyses.smk)."""
    return ([f for figure in FIGURES for f in figure_targets(figure)] + [CLAIMS_ALL]
            + [f for name in USER_ANALYSES for f in analysis_targets(name)])
