"""Fine-tuning: the training loop (:mod:`~relenc.training.trainer`), its configuration, the losses, and a run (read
the data, train, evaluate, write the run directory).

Imports allowed: :mod:`relenc.models`, :mod:`relenc.data`, :mod:`relenc.encoding`, :mod:`relenc.evaluation`, and the
shared :mod:`relenc.io`, :mod:`relenc.runtime`, :mod:`relenc.progress`, :mod:`relenc.errors`; never the CLI or
:mod:`relenc.serve`. This file imports nothing, so ``import relenc.training`` alone does not load torch.
"""
