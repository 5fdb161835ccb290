"""plot_fig4: Figure 4 (map + error/entropy vs lambda_1) and the adversarial-path panels."""

import numpy as np

from deepftle.io import load_npz, log_to, provenance, save_tsv
from deepftle.plots.fig4 import make_tables, plot_adversarial, plot_fig4

sm = snakemake  # noqa: F821
with log_to(sm.log[0]):
    p = dict(sm.params.fig)
    ftle, _ = load_npz(sm.input.ftle)
    emb, _ = load_npz(sm.input.coords)
    path, _ = load_npz(sm.input.path)
    t = make_tables(ftle, emb, path, box_class=p["box_class"], box_fraction=p["box_fraction"],
                    n_bins=p["n_bins"], adversarial_bins=p["adversarial_bins"])
    prov = provenance(p)
    for key in ("map", "box", "bins", "path", "adv_bins"):
        save_tsv(sm.output[key], t[key], prov)
    print(t["box"].to_string(index=False))
    pt = t["path"]
    top = int(np.nanargmax(pt["lam1"].to_numpy()))
    flip = np.flatnonzero(pt["pred"].to_numpy() != int(path["source_class"]))
    print(f"path: {len(pt)} images; max lambda_1 {pt['lam1'].iloc[top]:.4f} at step {top}; "
          f"prediction leaves class {int(path['source_class'])} at step "
          f"{int(flip[0]) if flip.size else 'never'}", flush=True)
    plot_fig4(t, sm.output.pdf, sm.output.png, blowup=p["blowup"], box_class=p["box_class"])
    plot_adversarial(t, sm.output.adv_pdf, sm.output.adv_png, int(path["source_class"]),
                     int(path["target_class"]))
