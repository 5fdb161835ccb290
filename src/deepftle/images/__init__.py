"""Image data sets and the analyses on them: the data sets (:mod:`.datasets`, with the IDX and
CIFAR-10 readers :mod:`.data` and :mod:`.cifar`), typed net specs and training (:mod:`.nets`),
Figure 4 on MNIST (one function per pipeline stage in :mod:`.stages`; the bottleneck map
:mod:`.bottleneck`, the attack :mod:`.attack` and its paths :mod:`.paths`, the t-SNE map
:mod:`.tsne`, the statistics :mod:`.statistics`, the figure's tables and claims :mod:`.fig4`), and
the one analysis of Fig. 4(b) for any net and data set (:mod:`.analysis`: Figs. S2, S3 and a
user's own). Imports nothing of :mod:`deepftle.circle`."""
