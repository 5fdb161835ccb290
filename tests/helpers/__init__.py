"""What the tests share and is not a test: synthetic MNIST-format data (:mod:`.mnist_synthetic`),
the tiny pipeline configs (:mod:`.configs`), Snakemake runs of the repository's workflow
(:mod:`.pipelines`), the engine's reference models (:mod:`.models`) and the bench scripts as
modules (:mod:`.bench`). ``tests/`` is on ``sys.path`` (its ``conftest.py`` puts it there), so
tests import ``helpers.<module>``."""
