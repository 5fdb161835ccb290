"""mnist_summary: accuracies, Spearman correlations, decile error rates, per-class boxes."""

from deepftle.analysis import box_table, summary_table
from deepftle.io import load_npz, log_to, provenance, read_tsv, save_tsv

sm = snakemake  # noqa: F821
with log_to(sm.log[0]):
    history = read_tsv(sm.input.history)
    f, _ = load_npz(sm.input.ftle)
    m, _ = load_npz(sm.input.coords)
    test = f["split"] == "test"
    train = f["split"] == "train"
    boxes = box_table(m["coords"], f["label"][train], f["correct"][train],
                      fraction=sm.params.box_fraction)
    table = summary_table(history, f["lam1"][test], (~f["correct"][test]).astype(float),
                          f["H"][test], boxes)
    print(table.to_string(index=False), flush=True)
    save_tsv(sm.output[0], table, provenance({"box_fraction": sm.params.box_fraction}))
