"""What the tests share and is not a test: synthetic MNIST-format data (:mod:`.mnist_synthetic`),
the tiny pipeline configs (:mod:`.configs`), Snakemake runs of the repository's workflow
(:mod:`.pipelines`), and the engine's reference models (:mod:`.models`). ``tests/`` is on
``sys.path`` (its ``conftest.py`` puts it there), so tests import ``helpers.<module>``."""
