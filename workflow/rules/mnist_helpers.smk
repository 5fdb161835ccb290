# Helpers of workflow/rules/mnist.smk (file names, the nets of the ensemble and width sweep),
# kept apart so that no snakefile mixes functions and rules (snakemake --lint).

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
MNIST_CFG = config["mnist"]
MEMBERS = list(range(1, MNIST_CFG["ensemble"]["size"]))  # member 0 is the main net
MAINS = list(range(1, MNIST_CFG["main_nets"]))  # main net 0 is results/mnist/net.pt
WIDTHS = MNIST_CFG["width_sweep"]["widths"]
WIDTH_SEEDS = MNIST_CFG["width_sweep"]["seeds"]
# every sweep net: (width, realisation)
WIDTH_NETS = [(w, r) for w in WIDTHS for r in WIDTH_SEEDS]
# the sweep nets' protocol: mnist.train with the keys of width_sweep.train replaced
SWEEP_TRAIN = dict(MNIST_CFG["train"], **MNIST_CFG["width_sweep"].get("train", {}))


def mnist_path(*parts):
    """A file under results/mnist/."""
    return os.path.join(MNIST_OUT, *parts)


def mnist_figures(stem, suffixes):
    """{key: results/figures/<stem><suffix>} for (key, suffix) pairs."""
    return {k: os.path.join(RESULTS, "figures", f"{stem}{s}") for k, s in suffixes}


def _mnist_seed(kind, index):
    """A net's seed: deepftle.pipeline.seeds.job_seed of mnist.train.seed, its kind and index."""
    return SEEDS.job_seed(MNIST_CFG["train"]["seed"], kind, index)


def mnist_member_net(member):
    """Ensemble member m >= 1: its own seed, ensemble.epochs (member 0 is the main net)."""
    return {"seed": _mnist_seed("ensemble", member), "epochs": MNIST_CFG["ensemble"]["epochs"]}


def mnist_main_net(index):
    """Realisation k >= 1 of the main net: its own seed, the main net's epochs."""
    return {"seed": _mnist_seed("main", index), "epochs": MNIST_CFG["train"]["epochs"]}


def mnist_width_net(width, realisation):
    """Realisation r of the width-sweep net of width N: its own seed (r = 0 keeps the seed of
    the one-net sweep), width_sweep.epochs."""
    seed = (_mnist_seed("width", width) if realisation == 0 else
            SEEDS.job_seed(MNIST_CFG["train"]["seed"], "width", width, realisation))
    return {"seed": seed, "width": width, "epochs": MNIST_CFG["width_sweep"]["epochs"]}


def mnist_width_file(width, realisation, ext):
    """The checkpoint (.pt) or history (.history.tsv) of one sweep net."""
    return mnist_path("widths", f"N{width}_seed{realisation}{ext}")


# The MNIST nets trained one per job besides the main net, by kind: the file stem under
# results/mnist/, its wildcards' patterns, the training protocol, and the net's seed / width /
# epochs as a function of the wildcards.
MNIST_NET_KINDS = {
    "member": dict(folder="ensemble", stem="member{member}",
                   constraints={"member": r"[1-9]\d*"}, train=MNIST_CFG["train"],
                   net=lambda wc: mnist_member_net(int(wc.member))),
    "main": dict(folder="mains", stem="net{main}", constraints={"main": r"[1-9]\d*"},
                 train=MNIST_CFG["train"], net=lambda wc: mnist_main_net(int(wc.main)),
                 resources=dict(runtime=240, mem_mb=8000)),
    "width": dict(folder="widths", stem="N{width}_seed{realisation}",
                  constraints={"width": r"\d+", "realisation": r"\d+"}, train=SWEEP_TRAIN,
                  net=lambda wc: mnist_width_net(int(wc.width), int(wc.realisation))),
}


def mnist_net_file(kind, ext):
    """The checkpoint (ext .pt) or history (.history.tsv) of a net of `kind`, wildcard open."""
    k = MNIST_NET_KINDS[kind]
    return mnist_path(k["folder"], k["stem"] + ext)


def mnist_net_params(kind, wildcards):
    """The `net` params of the job that trains the net of `kind` its wildcards name."""
    return MNIST_NET_KINDS[kind]["net"](wildcards)


FIG4 = mnist_figures("fig4", (("pdf", ".pdf"), ("png", ".png"), ("bins", "_bins.tsv"),
                              ("box", "_box.tsv"), ("path", "_path.tsv"),
                              ("width", "_width.tsv")))
FIG4_ATTACK = mnist_figures("fig4_adversarial", (("pdf", ".pdf"), ("png", ".png"),
                                                 ("alignment", "_alignment.tsv")))
FIG4_TSNE = mnist_figures("fig4_tsne", (("pdf", ".pdf"), ("png", ".png"), ("box", "_box.tsv")))

# Fig. S2: the Fig. 4(b) analysis for another architecture (workflow/rules/figS2.smk).
FIGS2_CFG = MNIST_CFG["figS2"]
FIGS2_NETS = list(range(FIGS2_CFG["ensemble_size"]))  # net 0 gives lambda_1, all give H
# the training protocol of mnist.train without the MLP's layout and the main net's epochs
FIGS2_TRAIN = {k: v for k, v in MNIST_CFG["train"].items()
               if k not in ("width", "depth", "epochs")}


def figS2_path(*parts):
    """A file under results/mnist/figS2/<arch>/."""
    return mnist_path("figS2", FIGS2_CFG["arch"], *parts)


def figS2_arch():
    """mnist.figS2's architecture choice and that architecture's block only (the net's dict is
    built by deepftle.mnist.figS2.figS2_architecture)."""
    kind = FIGS2_CFG["arch"]
    return {"arch": kind, kind: FIGS2_CFG[kind]}


def figS2_net(index):
    """Net `index` of the Fig. S2 ensemble: its own seed, figS2.epochs."""
    return {"seed": _mnist_seed(f"figS2-{FIGS2_CFG['arch']}", index),
            "epochs": FIGS2_CFG["epochs"]}


FIGS2 = mnist_figures("figS2", (("pdf", ".pdf"), ("png", ".png"), ("bins", "_bins.tsv")))

# Fig. S3: Fig. 4(b) on harder data sets (workflow/rules/figS3.smk).
FIGS3_CFG = MNIST_CFG["figS3"]
FIGS3_ARCHS = ("mlp", "cnn")
# the data sets analysed: those with a download, and CIFAR-10 where the user's copy is named
FIGS3_SETS = list(FIGS3_CFG["sets"]) + (["cifar10"] if FIGS3_CFG["cifar10"]["local"] else [])
FIGS3_NETS = list(range(FIGS3_CFG["ensemble_size"]))  # net 0 gives lambda_1, all give H
FASHION_FILES = [os.path.join("resources", "fashion_mnist", name) for name in
                 ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                  "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")]
CIFAR10_FILE = os.path.join("resources", "cifar10", "cifar10.npz")


def figS3_path(*parts):
    """A file under results/figS3/."""
    return os.path.join(RESULTS, "figS3", *parts)


def figS3_data(wildcards):
    """The data rule's output for the set of `wildcards.dataset`."""
    return FASHION_FILES if wildcards.dataset == "fashion_mnist" else [CIFAR10_FILE]


def figS3_arch(wildcards):
    """The set, the architecture kind and the CNN block: deepftle.mnist.figS3.figS3_architecture
    builds the net's dict from them and mnist.train."""
    return {"set": wildcards.dataset, "kind": wildcards.arch, "cnn": FIGS2_CFG["cnn"]}


def figS3_net(wildcards):
    """Net `wildcards.net` of one (set, architecture): its own seed and that kind's epochs."""
    return {"seed": _mnist_seed(f"figS3-{wildcards.dataset}-{wildcards.arch}",
                                int(wildcards.net)),
            "epochs": FIGS3_CFG["epochs"][wildcards.arch]}


def figS3_pairs():
    """Every (set, architecture) of Fig. S3."""
    return [(s, a) for s in FIGS3_SETS for a in FIGS3_ARCHS]
