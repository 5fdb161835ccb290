# Helpers of workflow/rules/toy.smk (file names, the networks of each figure, training params),
# kept apart so that no snakefile mixes functions and rules (snakemake --lint).
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
    return [(N, L, f["s"], seed) for L in f["depths"] for N in f["widths"] for seed in f["seeds"]]


def figS1_nets():
    f = TOY["figS1"]
    return [(f["width"], f["depth"], s, f["seed"]) for s in f["s"]]


def net_list(nets):
    """The nets of a figure as params: [{N, L, s, seed}, ...]."""
    return [dict(N=N, L=L, s=s, seed=seed) for N, L, s, seed in nets]


# the keys of a figure's block that training uses (the rest: which nets exist, plotting)
TRAINING_KEYS = ("sigma_theta", "epochs", "snapshot_every")


def train_params(wc):
    """Select the config that training reads (deepftle.toy.toy_net builds the settings from
    it): a change here retrains; plotting keys and other figures' keys never enter."""
    exp = TOY[wc.exp]
    p = dict(seed=TOY["seed"], train=TOY["train"],
             experiment={k: exp[k] for k in TRAINING_KEYS if k in exp})
    if wc.mode == "readout":
        p["readout"] = TOY["readout"]
    return p
