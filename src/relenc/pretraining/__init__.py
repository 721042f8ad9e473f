"""Contrastive pre-training: entity chains (:mod:`~relenc.pretraining.chains`, rules, no imports from relenc),
sentence pairs mined from raw text (:mod:`~relenc.pretraining.pairs`), and the pre-training loop
(:mod:`~relenc.pretraining.pretrain`).

Imports allowed: :mod:`relenc.data`, :mod:`relenc.encoding`, :mod:`relenc.models`, :mod:`relenc.training` (the
loop reuses its config, losses and accelerator), and the shared :mod:`relenc.nlp`, :mod:`relenc.progress`,
:mod:`relenc.io`, :mod:`relenc.runtime`, :mod:`relenc.errors`; never the pipeline, the CLI or :mod:`relenc.serve`.
"""
