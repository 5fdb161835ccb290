# Helpers of workflow/rules/circle.smk (file names, the networks of each figure, training params),
# kept apart so that no snakefile mixes functions and rules (snakemake --lint).
CIRCLE = config.get("circle", {})
CIRCLE_DIR = os.path.join(RESULTS, "circle")
NET_STEM = "{exp}/N{N}_L{L}_s{s}_seed{seed}_{mode}"



def fmt_s(s):
    """The init wildcard as written in file names: 0, 0.2, -0.2."""
    return f"{float(s):g}"


def circle_file(folder, ext, exp, N, L, s, seed, mode="full"):
    """The file of one net under CIRCLE_DIR/<folder>/, named like the rules' outputs."""
    stem = NET_STEM.format(exp=exp, N=N, L=L, s=fmt_s(s), seed=seed, mode=mode)
    return os.path.join(CIRCLE_DIR, folder, f"{stem}{ext}")


def fig2_nets():
    f = CIRCLE["fig2"]
    return [(N, L, f["s"], seed) for N in f["widths"] for L in f["depths"] for seed in f["seeds"]]


def fig3a_nets():
    f = CIRCLE["fig3a"]
    return [(N, f["depth"], f["s"], seed, mode)
            for N in f["widths"] for seed in f["seeds"] for mode in ("readout", "full")]


def fig3b_nets():
    f = CIRCLE["fig3b"]
    return [(N, L, f["s"], seed) for L in f["depths"] for N in f["widths"] for seed in f["seeds"]]


def figS1_nets():
    f = CIRCLE["figS1"]
    return [(f["width"], f["depth"], s, f["seed"]) for s in f["s"]]


def net_list(nets):
    """The nets of a figure as params: [{N, L, s, seed}, ...]."""
    return [dict(N=N, L=L, s=s, seed=seed) for N, L, s, seed in nets]


# the keys of a figure's block that training uses (the rest: which nets exist, plotting);
# min_accuracy is the floor a realisation's training accuracy must reach where redraws > 0
TRAINING_KEYS = ("sigma_theta", "epochs", "snapshot_every", "first_layer", "redraws",
                 "min_accuracy")


def train_params(exp, mode):
    """Select the config that training reads (deepftle.circle.nets.circle_net builds the settings from
    it): a change here retrains; plotting keys and other figures' keys never enter."""
    block = CIRCLE[exp]
    p = dict(seed=CIRCLE["seed"], train=CIRCLE["train"],
             experiment={k: block[k] for k in TRAINING_KEYS if k in block})
    if mode == "readout":
        p["readout"] = CIRCLE["readout"]
    return p


# Population training (config `population`, deepftle.nets.population): the fully trained nets of one
# (N, L) that differ only in seed or s train as one job when N <= population.max_width. Per experiment, the
# (s, seed) of one group's members; N and L stay wildcards of the group rule.
def group_members(exp):
    f = CIRCLE[exp]
    if exp in ("fig2", "fig3a", "fig3b"):  # fig3a: fully trained nets (readouts: linear solves)
        return [(f["s"], seed) for seed in f["seeds"]]
    return [(s, f["seed"]) for s in f["s"]]  # figS1: three initial variances, one seed


def grouped_widths(exp):
    """Regex of the widths of `exp` trained as populations (never matches when none are)."""
    f = CIRCLE[exp]
    widths = f.get("widths", [f.get("width")])
    narrow = sorted({N for N in widths
                     if SEEDS.trains_as_population(N, config["population"]["max_width"])})
    return "|".join(str(N) for N in narrow) or "(?!)"


def group_file(exp, ext, s, seed):
    """One member's file of a group rule, N and L left as wildcards."""
    stem = NET_STEM.replace("{exp}", exp).replace("{s}", fmt_s(s)).replace("{seed}", str(seed))
    return os.path.join(CIRCLE_DIR, "nets", stem.replace("{mode}", "full") + ext)
