"""crossover: L<lambda_1> on the decision boundary and in the centre of every Fig. 3(b) net, and
the fit of C_c, C_d."""

import pandas as pd

from deepftle.circle import stages
from deepftle.pipeline.files import provenance, read_tsv, save_tsv
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm, device=True) as device:
    p = sm.params
    table, fit = stages.crossover(
        p.nets,
        sm.input.nets,
        [read_tsv(h) for h in sm.input.histories],
        device,
        grid=p.grid,
        lim=p.lim,
        delta=p.delta,
        centre_radius=p.centre_radius,
        min_accuracy=p.min_accuracy,
    )
    prov = provenance(
        dict(
            grid=p.grid,
            lim=p.lim,
            delta=p.delta,
            centre_radius=p.centre_radius,
            min_accuracy=p.min_accuracy,
            nets=p.nets,
        ),
        device,
    )
    save_tsv(sm.output.table, table, prov)
    save_tsv(sm.output.fit, pd.DataFrame([fit]), prov)
