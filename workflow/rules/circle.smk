# Figures 1-3 and S1: the circle problem (config section `circle`). Every arrow a file; every rule
# calls the function of deepftle.circle.stages named like it (plots: deepftle.plots):
#   circle_data -> train_circle -> ftle_field -> ridge_metrics (+ claims fig2) -> plot_fig2
#                           \-> crossover (lambda_1 grid of every fig3b net) -> claims_fig3, plot_fig3 (b)
#                           \-> ftle_snapshots -> lam1_training (+ claims figS1) -> plot_figS1
#   histories (fig3a nets) -> claims_fig3, plot_fig3 (a);  circle_data -> plot_fig1
# Networks live under results/circle/nets/{exp}/ where exp (fig2, fig3a, fig3b, figS1) names the
# config block holding that experiment's training settings (epochs, sigma_theta, ...). Training
# settings are built once by deepftle.circle.nets.circle_net from the config that train_params selects.
# Plotting keys (circle.<fig>.plot) enter only the plot rules' params: a change reruns only figures.
include: "circle_helpers.smk"


wildcard_constraints:
    exp="fig2|fig3a|fig3b|figS1",
    N=r"\d+",
    L=r"\d+",
    s=r"-?\d+(\.\d+)?",
    seed=r"\d+",
    mode="full|readout",


rule circle_data:
    output:
        os.path.join(CIRCLE_DIR, "data.npz"),
    params:
        data=CIRCLE["data"],
    log:
        log_file("circle_data"),
    benchmark:
        bench_file("circle_data")
    conda:
        CONDA_ENV
    script:
        "../scripts/circle_data.py"


rule train_circle:
    input:
        data=rules.circle_data.output[0],
    output:
        net=os.path.join(CIRCLE_DIR, "nets", f"{NET_STEM}.pt"),
        history=os.path.join(CIRCLE_DIR, "nets", f"{NET_STEM}.history.tsv"),
    params:
        settings=lambda wc: train_params(wc.exp, wc.mode),
    log:
        log_file("train_circle", NET_STEM),
    benchmark:
        bench_file("train_circle", NET_STEM)
    resources:
        **gpu_resources(),
    conda:
        CONDA_ENV
    script:
        "../scripts/train_circle.py"


# The same nets as train_circle (identical files, up to rounding), but every member of one (N, L)
# trained in one vectorised job; ruleorder picks it over train_circle where it applies.
for _exp in ("fig2", "fig3a", "fig3b", "figS1"):

    rule:
        name:
            f"train_circle_group_{_exp}"
        input:
            data=rules.circle_data.output[0],
        output:
            nets=[group_file(_exp, ".pt", s, seed) for s, seed in group_members(_exp)],
            histories=[group_file(_exp, ".history.tsv", s, seed)
                       for s, seed in group_members(_exp)],
        wildcard_constraints:
            N=grouped_widths(_exp),
        params:
            settings=train_params(_exp, "full"),
            members=group_members(_exp),
        log:
            log_file(f"train_circle_group_{_exp}", "N{N}_L{L}"),
        benchmark:
            bench_file(f"train_circle_group_{_exp}", "N{N}_L{L}")
        resources:
            **gpu_resources(runtime=120),
        conda:
            CONDA_ENV
        script:
            "../scripts/train_circle_group.py"


ruleorder: train_circle_group_fig2 > train_circle_group_fig3a > train_circle_group_fig3b > train_circle_group_figS1 > train_circle


rule ftle_field:
    input:
        net=rules.train_circle.output.net,
    output:
        os.path.join(CIRCLE_DIR, "fields", f"{NET_STEM}.npz"),
    params:
        grid=CIRCLE["field"]["grid"],
        lim=CIRCLE["field"]["lim"],
    log:
        log_file("ftle_field", NET_STEM),
    benchmark:
        bench_file("ftle_field", NET_STEM)
    resources:
        **gpu_resources(),
    conda:
        CONDA_ENV
    script:
        "../scripts/ftle_field.py"


rule ftle_snapshots:
    input:
        net=rules.train_circle.output.net,
        data=rules.circle_data.output[0],
    output:
        os.path.join(CIRCLE_DIR, "snapshots", f"{NET_STEM}.npz"),
    log:
        log_file("ftle_snapshots", NET_STEM),
    benchmark:
        bench_file("ftle_snapshots", NET_STEM)
    resources:
        **gpu_resources(),
    conda:
        CONDA_ENV
    script:
        "../scripts/ftle_snapshots.py"


rule ridge_metrics:
    input:
        fields=lambda wc: [circle_file("fields", ".npz", "fig2", N, L, s, seed)
                           for N, L, s, seed in fig2_nets()],
        histories=lambda wc: [circle_file("nets", ".history.tsv", "fig2", N, L, s, seed)
                              for N, L, s, seed in fig2_nets()],
        published=PUBLISHED,
    output:
        ridges=report(os.path.join(CIRCLE_DIR, "ridges.tsv"), caption="../report/tables.rst",
                      category="Summary tables", labels={"table": "ridge metrics (Figure 2)"}),
        claims=claims_file("fig2"),
    params:
        nets=lambda wc: net_list(fig2_nets()),
        delta=CIRCLE["ridges"]["delta"],
        top=CIRCLE["ridges"]["top"],
        min_accuracy=CIRCLE["fig2"]["min_accuracy"],
        claims=config["claims"],
    log:
        log_file("ridge_metrics"),
    benchmark:
        bench_file("ridge_metrics")
    conda:
        CONDA_ENV
    script:
        "../scripts/ridge_metrics.py"


rule crossover:
    input:
        nets=lambda wc: [circle_file("nets", ".pt", "fig3b", N, L, s, seed)
                         for N, L, s, seed in fig3b_nets()],
        histories=lambda wc: [circle_file("nets", ".history.tsv", "fig3b", N, L, s, seed)
                              for N, L, s, seed in fig3b_nets()],
    output:
        table=report(os.path.join(CIRCLE_DIR, "crossover.tsv"), caption="../report/tables.rst",
                     category="Summary tables",
                     labels={"table": "boundary and centre L<lambda_1> (Figure 3b)"}),
        fit=os.path.join(CIRCLE_DIR, "crossover_fit.tsv"),
    params:
        nets=lambda wc: net_list(fig3b_nets()),
        grid=CIRCLE["fig3b"]["grid"],
        lim=CIRCLE["field"]["lim"],
        delta=CIRCLE["fig3b"]["boundary_delta"],
        centre_radius=CIRCLE["fig3b"]["centre_radius"],
        min_accuracy=CIRCLE["fig3b"]["min_accuracy"],
    log:
        log_file("crossover"),
    benchmark:
        bench_file("crossover")
    resources:
        **gpu_resources(),
    conda:
        CONDA_ENV
    script:
        "../scripts/crossover.py"


rule claims_fig3:
    input:
        histories=lambda wc: [circle_file("nets", ".history.tsv", "fig3a", N, L, s, seed, mode)
                              for N, L, s, seed, mode in fig3a_nets()],
        crossover=rules.crossover.output.table,
        published=PUBLISHED,
    output:
        claims_file("fig3"),
    params:
        nets_a=lambda wc: [dict(N=N, L=L, s=s, seed=seed, mode=mode)
                           for N, L, s, seed, mode in fig3a_nets()],
        min_accuracy=CIRCLE["fig3b"]["min_accuracy"],
        claims=config["claims"],
    log:
        log_file("claims_fig3"),
    benchmark:
        bench_file("claims_fig3")
    conda:
        CONDA_ENV
    script:
        "../scripts/claims_fig3.py"


rule lam1_training:
    input:
        snapshots=lambda wc: [circle_file("snapshots", ".npz", "figS1", N, L, s, seed)
                              for N, L, s, seed in figS1_nets()],
    output:
        table=os.path.join(CIRCLE_DIR, "lam1_training.tsv"),
        claims=claims_file("figS1"),
    params:
        nets=lambda wc: net_list(figS1_nets()),
        claims=config["claims"],
    log:
        log_file("lam1_training"),
    benchmark:
        bench_file("lam1_training")
    conda:
        CONDA_ENV
    script:
        "../scripts/lam1_training.py"


rule plot_fig1:
    input:
        data=rules.circle_data.output[0],
    output:
        pdf=os.path.join(FIG_DIR, "fig1.pdf"),
        png=report(os.path.join(FIG_DIR, "fig1.png"), caption="../report/fig1.rst",
                   category="Figures 1-3"),
        tsv=os.path.join(FIG_DIR, "fig1.tsv"),
    params:
        plot=CIRCLE["fig1"],
    log:
        log_file("plot_fig1"),
    benchmark:
        bench_file("plot_fig1")
    conda:
        CONDA_ENV
    script:
        "../scripts/plot_fig1.py"


rule plot_fig2:
    input:
        fields=rules.ridge_metrics.input.fields,
        ridges=rules.ridge_metrics.output.ridges,
    output:
        pdf=os.path.join(FIG_DIR, "fig2.pdf"),
        png=report(os.path.join(FIG_DIR, "fig2.png"), caption="../report/fig2.rst",
                   category="Figures 1-3"),
        tsv=os.path.join(FIG_DIR, "fig2.tsv"),
    params:
        nets=rules.ridge_metrics.params.nets,
        min_accuracy=CIRCLE["fig2"]["min_accuracy"],
        plot=CIRCLE["fig2"]["plot"],
    log:
        log_file("plot_fig2"),
    benchmark:
        bench_file("plot_fig2")
    conda:
        CONDA_ENV
    script:
        "../scripts/plot_fig2.py"


rule plot_fig3:
    input:
        histories=rules.claims_fig3.input.histories,
        crossover=rules.crossover.output.table,
        fit=rules.crossover.output.fit,
    output:
        pdf=os.path.join(FIG_DIR, "fig3.pdf"),
        png=report(os.path.join(FIG_DIR, "fig3.png"), caption="../report/fig3.rst",
                   category="Figures 1-3"),
        tsv_a=os.path.join(FIG_DIR, "fig3a.tsv"),
        tsv_b=os.path.join(FIG_DIR, "fig3b.tsv"),
    params:
        nets_a=rules.claims_fig3.params.nets_a,
        min_accuracy=CIRCLE["fig3b"]["min_accuracy"],
        epochs_b=CIRCLE["fig3b"]["epochs"],
        schedule=CIRCLE["train"]["schedule"],
    log:
        log_file("plot_fig3"),
    benchmark:
        bench_file("plot_fig3")
    conda:
        CONDA_ENV
    script:
        "../scripts/plot_fig3.py"


rule plot_figS1:
    input:
        table=rules.lam1_training.output.table,
    output:
        pdf=os.path.join(FIG_DIR, "figS1.pdf"),
        png=report(os.path.join(FIG_DIR, "figS1.png"), caption="../report/figS1.rst",
                   category="Figures 1-3"),
    params:
        width=CIRCLE["figS1"]["width"],
        depth=CIRCLE["figS1"]["depth"],
    log:
        log_file("plot_figS1"),
    benchmark:
        bench_file("plot_figS1")
    conda:
        CONDA_ENV
    script:
        "../scripts/plot_figS1.py"

