"""Networks and how they are made: the MLP (:mod:`.mlp`) and other architectures
(:mod:`.archs`), initialisation and the mean-field gain (:mod:`.init`), checkpoints
(:mod:`.checkpoints`), the training loop (:mod:`.train`) and populations of nets trained at once
(:mod:`.population`). Imports nothing of the problems (:mod:`deepftle.circle`,
:mod:`deepftle.images`) that use them."""
