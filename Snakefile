# deepftle: finite-time Lyapunov exponents of deep neural networks (Storm et al., PRL 2024).
# Targets: all (default), fig1, fig2, fig3, fig4, figS1, figS2. Stages live in
# workflow/rules/*.smk.
import os

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: os.path.join(workflow.basedir, "config.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/validate.smk"


include: "workflow/rules/common.smk"
include: "workflow/rules/toy.smk"
include: "workflow/rules/mnist.smk"
include: "workflow/rules/figS2.smk"
include: "workflow/rules/claims.smk"


rule all:
    default_target: True
    input:
        ALL_TARGETS,
