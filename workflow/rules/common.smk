# Shared helpers for every stage: paths, log/benchmark locations, the target list.
import importlib.util
import os

# deepftle.pipeline.seeds loaded by path: job seeds and the grouping predicate have one owner,
# and the package (which imports torch) stays out of the workflow's parse
_spec = importlib.util.spec_from_file_location(
    "deepftle_seeds", os.path.join(workflow.basedir, "src", "deepftle", "pipeline", "seeds.py"))
SEEDS = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(SEEDS)

ALL_TARGETS = []  # each stage file appends the final outputs it contributes to `all`
RESULTS = "results"
CLAIM_FILES = []  # each figure stage appends its results/claims/<figure>.tsv (claims.smk gathers)


def claims_file(figure):
    """results/claims/<figure>.tsv: the figure's claims (deepftle.pipeline.claims.write_claims)."""
    return os.path.join(RESULTS, "claims", f"{figure}.tsv")


def log_file(rule_name, pattern=""):
    """results/logs/<rule>/<wildcards>.log"""
    return os.path.join(RESULTS, "logs", rule_name, (pattern or "main") + ".log")


def bench_file(rule_name, pattern=""):
    """results/benchmarks/<rule>/<wildcards>.tsv"""
    return os.path.join(RESULTS, "benchmarks", rule_name, (pattern or "main") + ".tsv")


def _gpu_jobs():
    """1 when training/FTLE jobs will use a GPU (device cuda, or auto on a machine with one)."""
    import shutil

    if config["device"] == "cuda":
        return 1
    return int(config["device"] == "auto" and shutil.which("nvidia-smi") is not None)


# rules that train or compute FTLEs declare `resources: gpu=GPU`
GPU = _gpu_jobs()

# Software of every rule: environment.yml (the env `conda env create -f environment.yml` makes).
# Used only with `--use-conda`; otherwise jobs run in the current env. A file, not the env name
# `deepftle`: for a named env Snakemake runs `conda env export` to record every job's software,
# which fails on machines without conda even when --use-conda is not given.
CONDA_ENV = os.path.join(workflow.basedir, "environment.yml")
