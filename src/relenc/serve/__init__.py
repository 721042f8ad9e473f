"""The HTTP service (:mod:`~relenc.serve.app`): a FastAPI app over a trained model, with dynamic batching.

Imports allowed: :mod:`relenc.models`, :mod:`relenc.pipeline` (for ``/extract``), :mod:`relenc.data`,
:mod:`relenc.errors`; never the CLI, training or pre-training. FastAPI is the optional ``serve`` extra, so only
``relenc serve`` (:mod:`relenc.cli.serve`) imports this package, when it runs.
"""
