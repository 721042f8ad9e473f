"""Fine-tuning: the training loop (:mod:`~relenc.training.trainer`), its configuration, the losses, a run (read the
data, train, evaluate, write the run directory), an end-to-end run on sentence data (:mod:`~relenc.training.end2end`:
relation classifier, entity recognizer (:mod:`~relenc.training.entities`), decisions) and the hyperparameter search
(:mod:`~relenc.training.tune`).

Imports allowed: :mod:`relenc.models`, :mod:`relenc.data`, :mod:`relenc.encoding`, :mod:`relenc.evaluation`,
:mod:`relenc.pipeline` (end-to-end decisions are tuned by running the pipeline), and the
shared :mod:`relenc.io`, :mod:`relenc.runtime`, :mod:`relenc.progress`, :mod:`relenc.errors`; never the CLI or
:mod:`relenc.serve`. This file imports nothing, so ``import relenc.training`` alone does not load torch.
"""
