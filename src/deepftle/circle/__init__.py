"""The circle problem of Figures 1-3 and S1: its data (:mod:`.data`), the nets and their training
recipe (:mod:`.nets`), FTLE fields over the input plane (:mod:`.fields`), ridge metrics
(:mod:`.ridges`), the crossover of Fig. 3(b) (:mod:`.crossover`) and the claims
(:mod:`.claims`). Imports nothing of :mod:`deepftle.images`."""
