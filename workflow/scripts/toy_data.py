"""circle_data: train and test sets of the circle problem (glue; logic in
deepftle.circle.data)."""
import deepftle.pipeline.files as dio
from deepftle.circle.data import R0, circle_data

with dio.log_to(snakemake.log[0]):
    p = dict(snakemake.params.data)
    d = circle_data(p["n_train"], p["n_test"], p["seed"])
    print(f"circle data: {p['n_train']} train, {p['n_test']} test, r0 = {R0:.6f}; "
          f"fraction inside (train) = {float((d['t_train'] < 0).double().mean()):.4f}")
    dio.save_npz(snakemake.output[0], dio.provenance(p, "cpu"), r0=R0,
                 **{k: v.numpy() for k, v in d.items()})
