"""plot_figS3: Fig. 4(b)'s layout per data set and architecture, and the MLP's bottleneck map
coloured by lambda_1; the binned table behind it."""

import pandas as pd

from deepftle.images.analysis import figure_tables
from deepftle.images.datasets import SETS
from deepftle.pipeline.files import load_npz, provenance, save_tsv
from deepftle.pipeline.job import job
from deepftle.plots.figS3 import plot_figS3

sm = snakemake  # noqa: F821
with job(sm):
    p = sm.params
    instances = {
        tuple(k): load_npz(f)[0] for k, f in zip(p.instances, sm.input.arrays, strict=True)
    }
    maps = {s: load_npz(f)[0] for s, f in zip(p.sets, sm.input.maps, strict=True)}
    t = figure_tables(instances, maps, p.n_bins)
    bins = pd.concat(
        [panel["bins"].assign(data_set=s, arch=a) for (s, a), panel in t["panels"].items()],
        ignore_index=True,
    )
    save_tsv(sm.output.bins, bins, provenance(dict(p)))
    plot_figS3(
        t,
        sm.output.pdf,
        sm.output.png,
        names={s: SETS[s].name for s in p.sets},
        state_of_the_art=dict(p.state_of_the_art),
        min_accuracy=dict(p.min_accuracy),
    )
