# Helpers of workflow/rules/mnist.smk (file names, the nets of the ensemble and width sweep),
# kept apart so that no snakefile mixes functions and rules (snakemake --lint).

MNIST_FILES = DATASET_FILES["mnist"]
MNIST_OUT = os.path.join(RESULTS, "mnist")
MNIST_CFG = config["mnist"]
MEMBERS = list(range(1, MNIST_CFG["ensemble"]["size"]))  # member 0 is the main net
MAINS = list(range(1, MNIST_CFG["main_nets"]))  # main net 0 is results/mnist/net.pt
WIDTHS = MNIST_CFG["width_sweep"]["widths"]
WIDTH_SEEDS = MNIST_CFG["width_sweep"]["seeds"]
# every sweep net: (width, realisation)
WIDTH_NETS = [(w, r) for w in WIDTHS for r in WIDTH_SEEDS]
# the sweep nets' protocol: mnist.train with the keys of width_sweep.train replaced (its epochs:
# width_sweep.epochs)
SWEEP_PROTOCOL = dict(MNIST_CFG["train"], **MNIST_CFG["width_sweep"].get("train", {}))
# the main net's architecture: what every stage that reads its checkpoint expects
MNIST_ARCH = PROTOCOL.mlp_architecture(MNIST_CFG["train"])


def mnist_path(*parts):
    """A file under results/mnist/."""
    return os.path.join(MNIST_OUT, *parts)


def mnist_figures(stem, suffixes):
    """{key: results/figures/<stem><suffix>} for (key, suffix) pairs."""
    return {k: os.path.join(RESULTS, "figures", f"{stem}{s}") for k, s in suffixes}


def _mnist_seed(kind, index):
    """A net's seed: deepftle.pipeline.seeds.job_seed of mnist.train.seed, its kind and index."""
    return SEEDS.job_seed(MNIST_CFG["train"]["seed"], kind, index)


def mnist_main_net(index=0):
    """Realisation k of the main net (k = 0: the main net, mnist.train.seed; k >= 1 its own
    seed), the main net's epochs."""
    seed = MNIST_CFG["train"]["seed"] if index == 0 else _mnist_seed("main", index)
    return protocol_net(MNIST_CFG["train"], seed=seed, epochs=MNIST_CFG["train"]["epochs"])


def mnist_member_net(member):
    """Ensemble member m >= 1: its own seed, ensemble.epochs (member 0 is the main net)."""
    return protocol_net(MNIST_CFG["train"], seed=_mnist_seed("ensemble", member),
                        epochs=MNIST_CFG["ensemble"]["epochs"])


def mnist_width_net(width, realisation):
    """Realisation r of the width-sweep net of width N: its own seed (r = 0 keeps the seed of
    the one-net sweep), the sweep's protocol and width_sweep.epochs."""
    seed = (_mnist_seed("width", width) if realisation == 0 else
            SEEDS.job_seed(MNIST_CFG["train"]["seed"], "width", width, realisation))
    return protocol_net(SWEEP_PROTOCOL, seed=seed, width=width,
                        epochs=MNIST_CFG["width_sweep"]["epochs"])


def mnist_width_file(width, realisation, ext):
    """The checkpoint (.pt) or history (.history.tsv) of one sweep net."""
    return mnist_path("widths", f"N{width}_seed{realisation}{ext}")


# The MNIST nets trained one per job besides the main net, by kind: the file stem under
# results/mnist/, its wildcards' patterns, and the net's spec as a function of the wildcards.
MNIST_NET_KINDS = {
    "member": dict(folder="ensemble", stem="member{member}",
                   constraints={"member": r"[1-9]\d*"},
                   net=lambda wc: mnist_member_net(int(wc.member))),
    "main": dict(folder="mains", stem="net{main}", constraints={"main": r"[1-9]\d*"},
                 net=lambda wc: mnist_main_net(int(wc.main)),
                 resources=dict(runtime=240, mem_mb=8000)),
    "width": dict(folder="widths", stem="N{width}_seed{realisation}",
                  constraints={"width": r"\d+", "realisation": r"\d+"},
                  net=lambda wc: mnist_width_net(int(wc.width), int(wc.realisation))),
}


def mnist_net_file(kind, ext):
    """The checkpoint (ext .pt) or history (.history.tsv) of a net of `kind`, wildcard open."""
    k = MNIST_NET_KINDS[kind]
    return mnist_path(k["folder"], k["stem"] + ext)


def mnist_net_params(kind, wildcards):
    """The net spec of the job that trains the net of `kind` its wildcards name."""
    return MNIST_NET_KINDS[kind]["net"](wildcards)


FIG4 = mnist_figures("fig4", (("pdf", ".pdf"), ("png", ".png"), ("bins", "_bins.tsv"),
                              ("box", "_box.tsv"), ("path", "_path.tsv"),
                              ("width", "_width.tsv")))
FIG4_ATTACK = mnist_figures("fig4_adversarial", (("pdf", ".pdf"), ("png", ".png"),
                                                 ("alignment", "_alignment.tsv")))
FIG4_TSNE = mnist_figures("fig4_tsne", (("pdf", ".pdf"), ("png", ".png"), ("box", "_box.tsv")))
