"""plot_fig3: (a) random-feature vs fully trained errors; (b) the ridge / random-embedding
crossover."""

from deepftle.circle import stages
from deepftle.pipeline.files import provenance, read_tsv, save_tsv
from deepftle.pipeline.job import job
from deepftle.plots.fig3 import plot_fig3

sm = snakemake  # noqa: F821
with job(sm):
    p = sm.params
    errors = stages.fig3a_errors(p.nets_a, [read_tsv(h) for h in sm.input.histories])
    crossover = read_tsv(sm.input.crossover)
    fit = read_tsv(sm.input.fit).iloc[0].to_dict()
    note = stages.fig3_note(
        errors,
        crossover,
        fit,
        epochs_b=p.epochs_b,
        schedule=p.schedule,
        min_accuracy=p.min_accuracy,
    )
    _, summary_b = plot_fig3(
        errors, crossover, fit, sm.output.pdf, sm.output.png, min_accuracy=p.min_accuracy, note=note
    )
    prov = provenance(dict(nets_a=p.nets_a, min_accuracy=p.min_accuracy))
    save_tsv(sm.output.tsv_a, errors, prov)
    save_tsv(sm.output.tsv_b, summary_b, prov)
