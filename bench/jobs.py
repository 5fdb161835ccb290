"""The jobs of a config, as Snakemake plans them, and the training each one runs.

:func:`planned_jobs` asks Snakemake itself (a forced dry run of a target in an empty folder) which
jobs a config makes, with their wildcards, inputs and outputs, so the cost model never keeps a
second list of which nets a figure trains. :func:`training_spec` reads, for a training job, what
its time depends on: the layout, the number of nets trained together (``S``), the optimiser, the
minibatch, the data sizes and the epochs (from the merged config, as the rules select them).
"""

from __future__ import annotations

import dataclasses
import math
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

CIRCLE_TEST = "circle"  # layout family names in the cost table
MNIST_SIZES = (60000, 10000)


def merged_config(configfiles=()) -> dict:
    """config.yaml with each overlay merged in, key by key, as Snakemake's ``--configfile``."""

    def merge(base, over):
        for k, v in over.items():
            if isinstance(v, dict) and isinstance(base.get(k), dict):
                merge(base[k], v)
            else:
                base[k] = v
        return base

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    for f in configfiles:
        merge(config, yaml.safe_load(Path(f).read_text()) or {})
    return config


def planned_jobs(configfiles=(), target: str = "all") -> list[dict]:
    """Every job of a from-scratch run of ``target``: ``{rule, wildcards, inputs, outputs,
    threads, benchmark}`` from ``snakemake -n --forceall`` (the job list Snakemake would run)."""
    with tempfile.TemporaryDirectory() as work:
        cmd = [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            str(ROOT / "Snakefile"),
            "--directory",
            work,
            "-n",
            "--forceall",
            "--cores",
            "2",
            "--configfile",
            str(ROOT / "config.yaml"),
            *map(str, configfiles),
            "--",
            target,
        ]
        run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"snakemake dry run failed:\n{run.stdout[-2000:]}{run.stderr[-2000:]}")
    jobs, job = [], None
    for line in run.stdout.splitlines():
        head = re.match(r"^(?:local)?rule (\w+):$", line)
        if head:
            job = dict(
                rule=head.group(1), wildcards={}, inputs=[], outputs=[], threads=1, benchmark=None
            )
            jobs.append(job)
            continue
        field = re.match(r"^    (input|output|wildcards|threads|benchmark): (.*)$", line)
        if job is None or not field:
            continue
        key, value = field.groups()
        if key == "wildcards":
            job["wildcards"] = dict(kv.split("=", 1) for kv in value.split(", "))
        elif key == "threads":
            job["threads"] = int(value)
        elif key == "benchmark":
            job["benchmark"] = value
        else:
            job[key + "s"] = value.split(", ")
    return [j for j in jobs if j["rule"] != "all"]


@dataclasses.dataclass(frozen=True)
class TrainSpec:
    """What one training job's time depends on. ``arch``: a :func:`deepftle.nets.archs.build_net`
    dict as a sorted tuple of items; ``S`` nets train together (one population)."""

    arch: tuple
    S: int
    optimizer: str
    batch_size: int
    n_train: int
    n_test: int
    epochs: int
    eval_every: int = 1

    @property
    def evaluations(self) -> int:
        """Evaluations of both sets in one run: before training, every ``eval_every`` epochs
        and after the last (as :meth:`deepftle.nets.train.TrainConfig.evaluates`)."""
        return 1 + sum(
            e % self.eval_every == 0 or e == self.epochs for e in range(1, self.epochs + 1)
        )

    @property
    def layout(self) -> str:
        a = dict(self.arch)
        if a.get("kind", "mlp") != "mlp":
            return (
                a["kind"]
                + " "
                + " ".join(
                    f"{k}={'x'.join(map(str, v)) if isinstance(v, tuple) else v}"
                    for k, v in self.arch
                    if k not in ("kind", "activation")
                )
            )
        return f"{a['d_in']}-{a['width']}x{a['depth']}-{a['d_out']}"

    @property
    def key(self) -> tuple:
        """What the cost table is keyed by (everything but the epochs)."""
        return (self.layout, self.S, self.optimizer, self.batch_size, self.n_train, self.n_test)

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.n_train / self.batch_size)


def _circle_arch(N, L):
    return tuple(
        sorted(
            dict(
                kind="mlp",
                d_in=2,
                width=int(N),
                depth=int(L),
                d_out=1,
                activation="tanh",
                output="tanh",
            ).items()
        )
    )


def _mnist_arch(train, width=None):
    from deepftle.images.protocol import mlp_architecture

    return tuple(sorted(dict(mlp_architecture(train, width), kind="mlp").items()))


def training_spec(job: dict, config: dict) -> TrainSpec | None:
    """The :class:`TrainSpec` of a training job, or None for any other job (a least-squares
    readout is a linear solve, not a training loop)."""
    rule, wc, n_nets = job["rule"], job["wildcards"], sum(o.endswith(".pt") for o in job["outputs"])
    circle, mnist = config["circle"], config["mnist"]
    if rule == "train_circle" or rule.startswith("train_circle_group_"):
        exp = wc.get("exp") or rule.removeprefix("train_circle_group_")
        if wc.get("mode") == "readout" and circle["readout"]["solver"] == "lstsq":
            return None
        return TrainSpec(
            _circle_arch(wc["N"], wc["L"]),
            n_nets,
            circle["train"]["optimizer"],
            int(circle["train"]["batch_size"]),
            int(circle["data"]["n_train"]),
            int(circle["data"]["n_test"]),
            int(circle[exp]["epochs"]),
            int(circle["train"].get("eval_every", 1)),
        )
    train = mnist["train"]
    common = dict(
        optimizer=train["optimizer"],
        batch_size=int(train["batch_size"]),
        n_train=MNIST_SIZES[0],
        n_test=MNIST_SIZES[1],
        eval_every=int(train.get("eval_every", 1)),
    )
    if rule == "train_mnist":
        return TrainSpec(_mnist_arch(train), 1, epochs=int(train["epochs"]), **common)
    if rule in ("train_mnist_ensemble", "train_mnist_member"):
        return TrainSpec(
            _mnist_arch(train), n_nets, epochs=int(mnist["ensemble"]["epochs"]), **common
        )
    if rule == "train_mnist_width":
        sweep = dict(train, **mnist["width_sweep"].get("train", {}))
        return TrainSpec(
            _mnist_arch(train, wc["width"]),
            1,
            epochs=int(mnist["width_sweep"]["epochs"]),
            **dict(common, optimizer=sweep["optimizer"], batch_size=int(sweep["batch_size"])),
        )
    if rule == "train_analysis_net":
        from deepftle.images.analysis import AnalysisSpec

        name = wc["analysis"]
        set_key, kind = name.rsplit("-", 1)  # Fig. S2's analyses are on mnist, S3's not
        s2 = set_key == "mnist"
        blocks = dict(mnist["figS2"], mlp={})
        arch = (
            dict(kind="mlp", width=train["width"], depth=train["depth"])
            if kind == "mlp"
            else dict(kind=kind, **blocks[kind])
        )
        entry = dict(
            data={"set": set_key},
            model={"arch": dict(arch, activation=train["activation"])},
            checkpoints=["-"],
        )
        arch = AnalysisSpec.from_config(name, entry).model.arch
        arch.setdefault("kind", "mlp")
        n_train, n_test = (50000, 10000) if set_key == "cifar10" else MNIST_SIZES
        epochs = mnist["figS2"]["epochs"] if s2 else mnist["figS3"]["epochs"][kind]
        return TrainSpec(
            tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in arch.items())),
            1,
            epochs=int(epochs),
            **dict(common, n_train=n_train, n_test=n_test),
        )
    return None
