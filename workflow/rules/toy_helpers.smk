# Helpers of workflow/rules/toy.smk (file names, the networks of each figure, training params),
# kept apart so that no snakefile mixes functions and rules (snakemake --lint).
import hashlib


def job_seed(*parts):
    """Same as deepftle.data.job_seed, kept here so that parsing the workflow (which Snakemake
    does again inside every job) does not import torch."""
    text = "|".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") >> 1


TOY = config.get("toy", {})
TOY_DIR = os.path.join(RESULTS, "toy")
FIG_DIR = os.path.join(RESULTS, "figures")
NET_STEM = "{exp}/N{N}_L{L}_s{s}_seed{seed}_{mode}"



def fmt_s(s):
    """The init wildcard as written in file names: 0, 0.2, -0.2."""
    return f"{float(s):g}"


def toy_file(folder, ext, exp, N, L, s, seed, mode="full"):
    """The file of one net under TOY_DIR/<folder>/, named like the rules' outputs."""
    stem = NET_STEM.format(exp=exp, N=N, L=L, s=fmt_s(s), seed=seed, mode=mode)
    return os.path.join(TOY_DIR, folder, f"{stem}{ext}")


def fig2_nets():
    f = TOY["fig2"]
    return [(N, L, f["s"], seed) for N in f["widths"] for L in f["depths"] for seed in f["seeds"]]


def fig3a_nets():
    f = TOY["fig3a"]
    return [(N, f["depth"], f["s"], seed, mode)
            for N in f["widths"] for seed in f["seeds"] for mode in ("readout", "full")]


def fig3b_nets():
    f = TOY["fig3b"]
    return [(f["width"], f["depth"], s, f["seed"]) for s in f["s"]]


def train_params(wc):
    """Only what training uses: a change here retrains; plotting keys never enter."""
    exp = TOY[wc.exp]
    train = {k: v for k, v in TOY["train"].items() if k != "lr_width"}
    lr_width = TOY["train"].get("lr_width")
    if lr_width is not None and int(wc.N) > lr_width:  # wide nets: lr * lr_width / N
        train["lr"] = train["lr"] * lr_width / int(wc.N)
    p = dict(width=int(wc.N), depth=int(wc.L), s=float(wc.s), mode=wc.mode,
             sigma_theta=exp["sigma_theta"], epochs=exp["epochs"],
             seed=job_seed(TOY["seed"], wc.N, wc.L, fmt_s(wc.s), wc.seed),
             train=train, snapshot_epochs=[])
    if wc.exp == "fig3b":
        p["snapshot_epochs"] = list(range(0, exp["epochs"] + 1, exp["snapshot_every"]))
    if wc.mode == "readout":
        p["readout"] = dict(TOY["readout"])
    return p
