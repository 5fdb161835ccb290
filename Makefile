# Two commands: `make figures` (the main job) and `make test`. Both bootstrap .venv once;
# a second call reinstalls nothing unless pyproject.toml changed.
PYTHON     ?= python3
VENV       ?= .venv
# The CPU wheel of torch; on a CUDA machine use e.g. `make TORCH_SPEC='torch>=2.1' figures`.
TORCH_SPEC ?= torch==2.13.0
CORES      ?= 2
BIN        := $(VENV)/bin
STAMP      := $(VENV)/.deepftle-installed

.PHONY: figures test lint test-all test-slow bench bench-pipeline bench-train results-page report test-slurm test-gpu clean-venv

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check '$(TORCH_SPEC)'
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,slurm]'
	touch $(STAMP)

figures: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) all
	@if [ -f results/claims.tsv ]; then echo "== claims (results/claims.tsv) =="; \
	  $(BIN)/python -m deepftle.pipeline.claims results/claims.tsv; fi

# The fast tier (unit tests and small pipeline runs; every change). test-all adds the slow tier:
# the tiny Figures 1-4, S1, S2 pipeline end to end, its determinism, provenance and report, and
# a resume after SIGKILL. test-slow is that tier alone (CI runs it after `make test`).
test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not network"

# ruff with the configuration in pyproject.toml (pycodestyle, pyflakes, import order, bugbear,
# keyword-only flags; 100 columns), ruff's formatter, and Snakemake's own linter
lint: $(STAMP)
	$(BIN)/ruff check src tests bench workflow/scripts docs
	$(BIN)/ruff format --check src tests bench workflow/scripts docs
	$(BIN)/snakemake --lint

test-all: $(STAMP)
	$(BIN)/python -m pytest -m "not network"

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m "slow and not network"

# Live single-node SLURM (root; installs slurm-wlm and munge): tests/slurm/run.sh
test-slurm: $(STAMP)
	BIN=$(abspath $(BIN)) tests/slurm/run.sh

# On a CUDA machine (with a CUDA build of torch, e.g. TORCH_SPEC='torch>=2.1'): the engine on
# the GPU against float64 CPU references, and the tiny Figures 1-4 pipeline with device: cuda
# compared with a CPU run (tests/gpu/run.sh). Stops with exit 2 where torch sees no GPU.
test-gpu: $(STAMP)
	BIN=$(abspath $(BIN)) tests/gpu/run.sh

# Snakemake report of the current results (every figure with its caption, the summary tables)
report: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) all
	$(BIN)/snakemake --report results/report.html all

# FTLE engine against per-point autograd, vmap(jacrev) and a same-flop GEMM:
# writes results/bench/ftle.tsv and prints the ratio table. bench-pipeline summarises the
# Snakemake benchmark files of a `make figures` run into results/bench/pipeline.tsv.
bench: $(STAMP)
	nice -n 5 $(BIN)/python bench/ftle.py

bench-pipeline: $(STAMP)
	$(BIN)/python bench/pipeline.py

# Training cost table (one thread): time per step and per epoch of every layout that
# config.yaml and config/paper.yaml train, beside the GEMM floor of the step; writes
# results/bench/train.tsv. Then the predicted core-seconds and 2-core wall time of both configs
# (bench/predict.py [--configfile ...] [--stages results/benchmarks] [--check DIR]).
bench-train: $(STAMP)
	$(BIN)/python bench/train.py
	$(BIN)/python bench/predict.py
	$(BIN)/python bench/predict.py --configfile config/paper.yaml

# A results page from results/: make results-page NAME=default-run [CONFIG=config/paper.yaml]
results-page: $(STAMP)
	$(BIN)/python docs/results_page.py --name $(NAME) $(if $(CONFIG),--configfile $(CONFIG))

clean-venv:
	rm -rf $(VENV)
