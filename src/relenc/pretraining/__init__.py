"""Contrastive pre-training: sentence pairs mined from raw text (:mod:`~relenc.pretraining.pairs`, over the entity
chains of the shared :mod:`relenc.chains`), at corpus scale (:mod:`~relenc.pretraining.corpus` reads the inputs,
:mod:`~relenc.pretraining.mining` runs the worker processes or Ray tasks, :mod:`~relenc.pretraining.shards` keeps
the resumable output), and pre-training: what it reads and contrasts (:mod:`~relenc.pretraining.data`), the loss and
its backward pass (:mod:`~relenc.pretraining.contrastive`), the loop (:mod:`~relenc.pretraining.pretrain`) and its
FewRel probe (:mod:`~relenc.pretraining.probe`).

Imports allowed: :mod:`relenc.data`, :mod:`relenc.encoding`, :mod:`relenc.models`, :mod:`relenc.training` (the
loop reuses its config, losses and accelerator), :mod:`relenc.evaluation` (the probe reuses the few-shot episodes
and scoring), and the shared :mod:`relenc.chains`, :mod:`relenc.nlp`, :mod:`relenc.progress`, :mod:`relenc.io`,
:mod:`relenc.runtime`, :mod:`relenc.ray_cluster`, :mod:`relenc.errors`; never the pipeline, the CLI or
:mod:`relenc.serve`.
"""
