"""From raw text to triples: the extraction pipeline (:mod:`~relenc.pipeline.extract`), naming mentions after their
entities (:mod:`~relenc.pipeline.coref`), the same pipeline on tokenised sentences for end-to-end evaluation
(:mod:`~relenc.pipeline.sentences`), batch jobs over files, local (:mod:`~relenc.pipeline.batch`) or on Ray
(:mod:`~relenc.pipeline.ray_backend`), the spaCy component, and the embeddings of a data file
(:mod:`~relenc.pipeline.embed`, ``relenc embed``).

Imports allowed: :mod:`relenc.models` (a trained extractor), :mod:`relenc.data`, :mod:`relenc.evaluation` (end-to-end
scores), and the shared :mod:`relenc.chains`
(entity chains, for :mod:`~relenc.pipeline.coref`), :mod:`relenc.nlp` (the spaCy loader), :mod:`relenc.progress`,
:mod:`relenc.io`, :mod:`relenc.ray_cluster`, :mod:`relenc.errors` (and ``relenc.__version__``); never training,
pre-training, the CLI or :mod:`relenc.serve` (which builds on this package). spaCy and Ray are optional and imported
only when used."""
