"""The HTTP service (:mod:`~relenc.serve.app`): a FastAPI app over a trained model, with dynamic batching.

``app`` builds the app and its routes; ``batcher`` holds the dynamic batcher and the bounded queues; ``middleware``
the pure ASGI layers (catch-all for bugs, API key, body limits); ``limits`` the bounds a request and the queues obey;
``security`` the rule that anything but loopback needs an API key.

Imports allowed: :mod:`relenc.models`, :mod:`relenc.pipeline` (for ``/extract``), :mod:`relenc.data`,
:mod:`relenc.errors`; never the CLI, training or pre-training. FastAPI is the optional ``serve`` extra: ``limits``
and ``security`` import no FastAPI, so the CLI can build ``relenc serve``'s options and check the key rule without
it; the other modules are imported only when ``relenc serve`` runs.
"""
