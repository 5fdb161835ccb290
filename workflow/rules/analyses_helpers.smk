# Helpers of workflow/rules/analyses.smk: every analysis of the run by name, as the plain entry
# deepftle.images.analysis.AnalysisSpec.from_config reads (in the job, once), with its files.
# Figs. S2 and S3 are analyses like a user's: Fig. S2 {mnist} x {cnn, resmlp}, Fig. S3
# {fashion_mnist, cifar10} x {mlp, cnn}, trained with the mnist.train protocol; the figures draw
# the configured ones (mnist.figS2.arch, mnist.figS3.sets).

import re

from snakemake.exceptions import WorkflowError

ANALYSES_DIR = os.path.join(RESULTS, "analyses")
FIGS2_CFG = MNIST_CFG["figS2"]
FIGS3_CFG = MNIST_CFG["figS3"]
FIGS2_KINDS = ("cnn", "resmlp")
FIGS3_SETS_ALL = ("fashion_mnist", "cifar10")
FIGS3_KINDS = ("mlp", "cnn")
# the sets Fig. S3 draws: those with a download, and CIFAR-10 where the user's copy is named
FIGS3_SETS = list(FIGS3_CFG["sets"]) + (["cifar10"] if config["datasets"]["cifar10"]["local"]
                                        else [])
_PROTOCOL = MNIST_CFG["train"]
_OPTIMISER = {k: v for k, v in _PROTOCOL.items() if k not in PROTOCOL_LAYOUT}


def _project_arch(kind):
    """Fig. S2/S3's architecture `kind` (completed for its data set by the analysis)."""
    if kind == "mlp":
        return dict(kind="mlp", width=_PROTOCOL["width"], depth=_PROTOCOL["depth"],
                    activation=_PROTOCOL["activation"])
    return dict(kind=kind, **FIGS2_CFG[kind], activation=_PROTOCOL["activation"])


def _builtin(figure, data_set, kind, seed_label, epochs, nets, n_test, floor):
    return dict(
        figure=figure, set=data_set, kind=kind,
        entry=dict(
            data={"set": data_set},
            model={"arch": _project_arch(kind)},
            train=dict(_OPTIMISER, epochs=epochs,
                       seeds=[SEEDS.job_seed(_PROTOCOL["seed"], seed_label, i)
                              for i in range(nets)]),
            points=n_test,
            min_accuracy=floor,
        ),
    )


def _analyses():
    """name -> {entry, figure, set, kind}: Figs. S2 and S3's analyses, then the user's."""
    out = {}
    for kind in FIGS2_KINDS:
        out[f"mnist-{kind}"] = _builtin(
            "figS2", "mnist", kind, f"figS2-{kind}", FIGS2_CFG["epochs"],
            FIGS2_CFG["ensemble_size"], FIGS2_CFG["n_test"], FIGS2_CFG["min_accuracy"])
    for data_set in FIGS3_SETS_ALL:
        for kind in FIGS3_KINDS:
            out[f"{data_set}-{kind}"] = _builtin(
                "figS3", data_set, kind, f"figS3-{data_set}-{kind}", FIGS3_CFG["epochs"][kind],
                FIGS3_CFG["ensemble_size"], FIGS3_CFG["n_test"],
                FIGS3_CFG[data_set]["min_accuracy"][kind])
    for name, entry in (config.get("analyses") or {}).items():
        if name in out:
            raise WorkflowError(f"invalid configuration: analyses.{name}: the name is taken by "
                                f"Fig. {out[name]['figure'][3:]}'s analysis; choose another")
        out[name] = dict(figure=None, set=entry["data"].get("set"), kind=None, entry=entry)
    return out


ANALYSES = _analyses()
USER_ANALYSES = [n for n, a in ANALYSES.items() if a["figure"] is None]
FIGS2_NAME = f"mnist-{FIGS2_CFG['arch']}"
FIGS3_NAMES = [f"{s}-{k}" for s in FIGS3_SETS for k in FIGS3_KINDS]


def analysis_path(name, *parts):
    """A file under results/analyses/<name>/."""
    return os.path.join(ANALYSES_DIR, name, *parts)


def analysis_entry(wildcards):
    return ANALYSES[wildcards.analysis]["entry"]


def analysis_data(wildcards):
    """What the analysis reads: its set's files (DATASET_FILES) or the user's .npz."""
    data = analysis_entry(wildcards)["data"]
    return DATASET_FILES[data["set"]] if "set" in data else [data["npz"]]


def analysis_code(wildcards):
    """The user's builder file, where the builder names one: editing it reruns the analysis."""
    builder = analysis_entry(wildcards)["model"].get("builder", "")
    where = builder.rsplit(":", 1)[0]
    return [where] if where.endswith(".py") else []


def analysis_trains(name):
    return "train" in ANALYSES[name]["entry"]


def analysis_n_nets(name):
    entry = ANALYSES[name]["entry"]
    if "checkpoints" in entry:
        return len(entry["checkpoints"])
    train = entry["train"]
    return len(train["seeds"]) if "seeds" in train else int(train["nets"])


def analysis_nets(wildcards):
    """The analysis's checkpoints: the user's, or those its train_analysis_net jobs write."""
    entry = analysis_entry(wildcards)
    if "checkpoints" in entry:
        return list(entry["checkpoints"])
    return [analysis_path(wildcards.analysis, f"net{i}.pt")
            for i in range(analysis_n_nets(wildcards.analysis))]


def analysis_histories(wildcards):
    if not analysis_trains(wildcards.analysis):
        return []
    return [analysis_path(wildcards.analysis, f"net{i}.history.tsv")
            for i in range(analysis_n_nets(wildcards.analysis))]


def analysis_targets(name):
    """What `analysis_<name>` makes: the table, the claims, the figure."""
    return [analysis_path(name, f) for f in
            ("lambda.tsv", "claims.tsv", "summary.tsv", "figure.pdf", "figure.png")]
