"""The MNIST analysis of Figures 4 and S2: the data set (:mod:`.data`), the nets
(:mod:`.nets`), one function per pipeline stage (:mod:`.stages`), the bottleneck map
(:mod:`.bottleneck`), the attack path (:mod:`.attack`), the t-SNE map (:mod:`.tsne`), the
statistics (:mod:`.statistics`) and the figures' tables and claims (:mod:`.fig4`,
:mod:`.figS2`). Imports nothing of :mod:`deepftle.circle`."""
