"""Fixtures of the service tests: an app running under uvicorn on loopback, in a thread, and tiny models.

Fixtures rather than importable helpers: pytest imports every ``conftest.py`` under the same module name.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

uvicorn = pytest.importorskip("uvicorn")

Serve = Callable[[Any], contextlib.AbstractContextManager[str]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _running(app: Any) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port, in a thread; stopped gracefully afterwards."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline and thread.is_alive():
        time.sleep(0.02)
    assert server.started, "the test server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True  # graceful: uvicorn finishes requests in flight, the batcher drains its queue
        thread.join(timeout=30)
        assert not thread.is_alive()


@pytest.fixture(scope="session")
def serve() -> Serve:
    """``with serve(app) as url: ...``: the app through the real HTTP stack."""
    return _running


@pytest.fixture(scope="session")
def short_model(tiny_encoder: str) -> Any:
    """A tiny ``ht_mask`` model whose input holds only 32 word pieces: a long sentence is easily too long."""
    from relenc.data.labels import LabelSet
    from relenc.encoding.builder import InputConfig
    from relenc.models.extractor import RelationExtractor

    labels = LabelSet.from_labels(["no_relation", "per:employee_of", "org:city_of_headquarters"])
    return RelationExtractor.build("ht_mask", labels, {"main": tiny_encoder}, {"main": InputConfig(max_length=32)})


@pytest.fixture(scope="session")
def roomy_model(tiny_encoder: str) -> Any:
    """A tiny ``ht_mask`` model with the usual 256 word pieces: for /extract, whose pairs span a whole sentence."""
    from relenc.data.labels import LabelSet
    from relenc.encoding.builder import InputConfig
    from relenc.models.extractor import RelationExtractor

    labels = LabelSet.from_labels(["no_relation", "per:employee_of", "org:city_of_headquarters"])
    return RelationExtractor.build("ht_mask", labels, {"main": tiny_encoder}, {"main": InputConfig()})


@pytest.fixture(scope="session")
def blank_nlp() -> Any:
    """A spaCy pipeline that only splits sentences: /extract with given entities needs no trained pipeline."""
    spacy = pytest.importorskip("spacy")
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp
