# deepftle: finite-time Lyapunov exponents of deep neural networks (Storm et al., PRL 2024).
# Targets: all (default), fig1, fig2, fig3, figS1, fig4, figS2, figS3, claims, analyses,
# analysis_<name>. The stages live in workflow/rules/ (datasets.smk: the image data sets;
# circle.smk: Figures 1-3 and S1; mnist.smk: Figure 4; analyses.smk: the analysis of Fig. 4(b)
# for any net and data set, Figs. S2 and S3 among them), each rule a script of workflow/scripts/
# named like it that calls one function of deepftle.
import os

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: os.path.join(workflow.basedir, "config.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/validate.smk"
include: "workflow/rules/common.smk"
include: "workflow/rules/datasets.smk"
include: "workflow/rules/circle.smk"
include: "workflow/rules/mnist.smk"
include: "workflow/rules/analyses.smk"
include: "workflow/rules/targets.smk"


rule all:
    default_target: True
    input:
        final_targets(),
