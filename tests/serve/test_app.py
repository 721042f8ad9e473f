"""The service through the real HTTP stack (uvicorn on loopback, httpx clients)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import numpy as np
import pytest

uvicorn = pytest.importorskip("uvicorn")

from relenc.data.labels import LabelSet  # noqa: E402
from relenc.data.readers._common import example_from_char_spans  # noqa: E402
from relenc.encoding.builder import InputConfig  # noqa: E402
from relenc.models.extractor import RelationExtractor  # noqa: E402
from relenc.serve.app import Limits, create_app  # noqa: E402

if TYPE_CHECKING:
    from conftest import RunCli

ITEM = {"text": "Alice works for Acme.", "h": {"start": 0, "end": 5}, "t": {"start": 16, "end": 20}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tiny_encoder: str) -> Iterator[tuple[str, object]]:
    labels = LabelSet.from_labels(["no_relation", "per:employee_of", "org:city_of_headquarters"])
    model = RelationExtractor.build("ht_mask", labels, {"main": tiny_encoder}, {"main": InputConfig()})
    app = create_app(model, Limits(max_items=8, max_body_bytes=20_000, max_wait_ms=20))
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not srv.started and time.time() < deadline:
        time.sleep(0.05)
    assert srv.started
    yield f"http://127.0.0.1:{port}", app
    srv.should_exit = True  # graceful: uvicorn finishes requests in flight, the batcher drains its queue
    thread.join(timeout=30)
    assert not thread.is_alive()


def test_health_labels_and_openapi(server: tuple[str, object]) -> None:
    url, _ = server
    assert httpx.get(f"{url}/health").json()["status"] == "ok"
    assert httpx.get(f"{url}/labels").json()["negative_label"] == "no_relation"
    schema = httpx.get(f"{url}/openapi.json").json()
    assert {"/classify", "/embed", "/extract", "/health", "/labels"} <= set(schema["paths"])


def test_classify(server: tuple[str, object]) -> None:
    url, _ = server
    response = httpx.post(f"{url}/classify", json={"items": [ITEM, ITEM]})
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 2 and results[0] == results[1]
    assert results[0]["label"] in ("no_relation", "per:employee_of", "org:city_of_headquarters")


def test_clear_4xx_errors(server: tuple[str, object]) -> None:
    url, _ = server
    too_many = httpx.post(f"{url}/classify", json={"items": [ITEM] * 9})
    assert too_many.status_code == 413 and "at most 8" in too_many.json()["detail"]
    bad_span = httpx.post(f"{url}/classify", json={"items": [{**ITEM, "t": {"start": 16, "end": 99}}]})
    assert bad_span.status_code == 422 and "item 0: tail character span [16, 99)" in bad_span.json()["detail"]
    huge = httpx.post(f"{url}/classify", content=b"x" * 30_000, headers={"content-type": "application/json"})
    assert huge.status_code == 413
    malformed = httpx.post(f"{url}/classify", json={"items": []})
    assert malformed.status_code == 422


def test_embed(server: tuple[str, object]) -> None:
    url, app = server
    response = httpx.post(f"{url}/embed", json={"items": [ITEM, ITEM]})
    assert response.status_code == 200
    body = response.json()
    assert body["parts"] == ["h", "t", "m"] and body["dimensions"] == {"h": 32, "t": 32, "m": 32}
    assert len(body["embeddings"]) == 2 and body["embeddings"][0] == body["embeddings"][1]
    model = app.state.batcher.model  # type: ignore[attr-defined]
    example = example_from_char_spans("0", ITEM["text"], (0, 5), (16, 20), None, None, None)
    expected = model.embed([example])["m"][0]
    np.testing.assert_allclose(body["embeddings"][0]["m"], expected, rtol=1e-6)
    unit = httpx.post(f"{url}/embed", json={"items": [ITEM], "parts": ["h"], "normalize": True}).json()
    assert list(unit["embeddings"][0]) == ["h"] and np.linalg.norm(unit["embeddings"][0]["h"]) == pytest.approx(1.0)
    assert httpx.post(f"{url}/embed", json={"items": [ITEM], "parts": ["x"]}).status_code == 422
    too_many = httpx.post(f"{url}/embed", json={"items": [ITEM] * 9})
    assert too_many.status_code == 413 and "at most 8" in too_many.json()["detail"]


def test_concurrent_requests_are_batched(server: tuple[str, object]) -> None:
    url, app = server
    batcher = app.state.batcher  # type: ignore[attr-defined]
    before = httpx.get(f"{url}/health").json()
    with httpx.Client() as client, ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda _: client.post(f"{url}/classify", json={"items": [ITEM]}), range(16)))
    assert all(r.status_code == 200 for r in responses)
    after = httpx.get(f"{url}/health").json()
    assert after["examples_classified"] - before["examples_classified"] == 16
    assert after["forward_passes"] - before["forward_passes"] < 16  # some requests shared a forward pass
    assert after["forward_passes"] == batcher.batches


def test_extract_with_given_entities(server: tuple[str, object]) -> None:
    pytest.importorskip("spacy")
    url, _ = server
    doc = {
        "text": "Alice works for Acme.",
        "entities": [
            {"text": "Alice", "start": 0, "end": 5, "type": "PERSON"},
            {"text": "Acme", "start": 16, "end": 20, "type": "ORG"},
        ],
    }
    response = httpx.post(f"{url}/extract", json={"documents": [doc]}, timeout=60)
    assert response.status_code == 200
    document = response.json()["documents"][0]
    for rel in document["relations"]:
        assert doc["text"][rel["head"]["start"] : rel["head"]["end"]] == rel["head"]["text"]
    # the mentions come back too (a page shows them even where no relation links them), at the text's offsets
    assert [{k: e[k] for k in ("text", "start", "end", "type")} for e in document["entities"]] == doc["entities"]
    assert all(doc["text"][e["start"] : e["end"]] == e["text"] for e in document["entities"])


def test_serve_compile_warms_up_before_serving(
    tiny_encoder: str, tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    labels = LabelSet.from_labels(["no_relation", "per:employee_of"])
    RelationExtractor.build("ht", labels, {"main": tiny_encoder}, {"main": InputConfig()}).save_pretrained(tmp_path)
    events: list[str] = []
    monkeypatch.setattr(RelationExtractor, "compile", lambda self: events.append("compile") or self)
    predict = RelationExtractor.predict
    monkeypatch.setattr(
        RelationExtractor, "predict", lambda self, ex, *a, **k: events.append(f"predict {len(ex)}") or predict(self, ex)
    )

    def run(server: uvicorn.Server, sockets: list[socket.socket]) -> None:
        events.append(f"serve on {sockets[0].getsockname()[1]}")
        server.started = True

    monkeypatch.setattr(uvicorn.Server, "run", run)
    port = free_port()
    code, _, stderr = run_cli(["serve", str(tmp_path), "--port", str(port), "--compile"])
    assert code == 0, stderr
    assert events == ["compile", "predict 1", "predict 2", f"serve on {port}"]  # both batch shapes, then serving
