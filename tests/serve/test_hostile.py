"""Hostile input through the real HTTP stack: each bad request fails alone, with a 4xx that says why.

Issue 13: one bad /classify among valid ones, unbounded /extract work, a chunked body past the size limit, and
malformed JSON values that used to give a 500.
"""

from __future__ import annotations

import asyncio
import json
import logging
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest

pytest.importorskip("fastapi")

from relenc.errors import RelencError
from relenc.pipeline.extract import (
    DeadlineExceeded,
    Entity,
    ExtractionConfig,
    LimitExceeded,
    Pipeline,
)
from relenc.serve.app import Limits, create_app
from relenc.serve.batcher import BACKGROUND, FOREGROUND, GRACE_S, Batcher, Job

if TYPE_CHECKING:
    from conftest import Serve

ITEM = {"text": "Alice works for Acme.", "h": {"start": 0, "end": 5}, "t": {"start": 16, "end": 20}}
FAR = "Alice " + "said that " * 40 + "Acme."  # head and tail about 80 word pieces apart: over max_length 32
TOO_LONG = {"text": FAR, "h": {"start": 0, "end": 5}, "t": {"start": len(FAR) - 5, "end": len(FAR) - 1}}


def names(n: int) -> dict[str, Any]:
    """One sentence naming ``n`` people, with their entities: n (n - 1) candidate pairs."""
    words = [f"Person{i}" for i in range(n)]
    text = " and ".join(words) + " met."
    entities, start = [], 0
    for word in words:
        entities.append({"text": word, "start": start, "end": start + len(word), "type": "PERSON"})
        start += len(word) + len(" and ")
    return {"text": text, "entities": entities}


def counting(model: Any, monkeypatch: pytest.MonkeyPatch, before: Callable[[], None]) -> list[int]:
    """Wrap ``model.predict`` to call ``before`` (sleep, wait for a gate) first; returns the batch sizes seen."""
    calls: list[int] = []
    predict = model.predict

    def wrapped(examples: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(len(examples))
        before()
        return predict(examples, *args, **kwargs)

    monkeypatch.setattr(model, "predict", wrapped)
    return calls


def wait_until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """An event a wrapped ``predict`` waits on: the model stays busy until the test opens it (always, at the end)."""
    event = threading.Event()
    yield event
    event.set()


# ----------------------------------------------------------------------------------------- case 1: errors stay own
def test_a_request_too_long_to_encode_fails_alone(short_model: Any, serve: Serve) -> None:
    app = create_app(short_model, Limits(max_wait_ms=50))
    bodies = [{"items": [ITEM]}] * 10 + [{"items": [ITEM, TOO_LONG]}] + [{"items": [ITEM]}] * 10
    with serve(app) as url, httpx.Client(timeout=60) as client, ThreadPoolExecutor(len(bodies)) as pool:
        responses = list(pool.map(lambda body: client.post(f"{url}/classify", json=body), bodies))
    bad = responses.pop(10)
    assert bad.status_code == 422
    assert bad.json()["detail"].startswith("item 1: too long to encode"), bad.json()
    assert [r.status_code for r in responses] == [200] * 20


def test_a_failing_batch_is_retried_request_by_request(
    short_model: Any, serve: Serve, monkeypatch: pytest.MonkeyPatch, gate: threading.Event, caplog: Any
) -> None:
    """An error that only shows in ``predict`` (here: a poisoned example) fails its own request, not the batch."""
    predict = short_model.predict

    def fragile(examples: Any, *args: Any, **kwargs: Any) -> Any:
        gate.wait(10)
        if any("POISON" in (ex.text or "") for ex in examples):
            raise RuntimeError("poisoned batch")
        return predict(examples, *args, **kwargs)

    monkeypatch.setattr(short_model, "predict", fragile)
    app = create_app(short_model, Limits(max_wait_ms=0))
    poison = {**ITEM, "text": "Alice POISON Acme.", "t": {"start": 13, "end": 17}}
    bodies = [{"items": [ITEM]}] * 5 + [{"items": [poison]}] + [{"items": [ITEM]}] * 5
    with serve(app) as url, httpx.Client(timeout=60) as client, ThreadPoolExecutor(len(bodies) + 1) as pool:
        first = pool.submit(client.post, f"{url}/classify", json={"items": [ITEM]})
        wait_until(app.state.batcher.lock.locked)  # the model is busy: the next requests queue up together
        later = [pool.submit(client.post, f"{url}/classify", json=body) for body in bodies]
        wait_until(lambda: app.state.batcher.queue.qsize() == len(bodies))
        with caplog.at_level(logging.WARNING, logger="relenc.serve"):
            gate.set()
            responses = [f.result() for f in later]
    assert first.result().status_code == 200
    assert responses[5].status_code == 500 and "internal error" in responses[5].json()["detail"]
    assert [r.status_code for i, r in enumerate(responses) if i != 5] == [200] * 10
    assert "a batch of 11 requests failed" in caplog.text and "poisoned batch" in caplog.text


# ----------------------------------------------------------------------------------------- case 2: bounded work
def test_extract_limits_name_the_limit_and_the_value(roomy_model: Any, blank_nlp: Any, serve: Serve) -> None:
    limits = Limits(max_entities=20, max_pairs=50, max_documents=2, max_text_chars=2000, max_total_chars=3000)
    app = create_app(roomy_model, limits, nlp=blank_nlp)
    with serve(app) as url:

        def extract(*documents: dict[str, Any]) -> httpx.Response:
            return httpx.post(f"{url}/extract", json={"documents": list(documents)}, timeout=60)

        pairs = extract(names(12))  # 12 entities, 132 pairs
        assert pairs.status_code == 413
        assert "132 candidate pairs, more than the limit max_pairs=50" in pairs.json()["detail"]
        entities = extract(names(12), names(12))
        assert entities.status_code == 413
        assert entities.json()["detail"] == "24 entities; at most 20 per request (max_entities)"
        long_text = extract({"text": "x" * 2001})
        assert long_text.status_code == 413
        assert long_text.json()["detail"] == "document 0: text of 2001 characters, over max_text_chars=2000"
        total = extract({"text": "x" * 1600}, {"text": "y" * 1600})
        assert total.status_code == 413 and "3200 characters in all, over max_total_chars=3000" in total.text
        many = extract(names(2), names(2), names(2))
        assert many.status_code == 413 and many.json()["detail"] == "3 documents; at most 2 per request (max_documents)"
        fine = extract(names(7))  # 42 pairs
        assert fine.status_code == 200
        assert all(r["relation"] for r in fine.json()["documents"][0]["relations"])


def test_extract_over_its_time_budget_gets_504_and_stops(
    roomy_model: Any, blank_nlp: Any, serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = counting(roomy_model, monkeypatch, lambda: time.sleep(0.2))
    app = create_app(roomy_model, Limits(extract_batch=4, timeout_s=0.5, max_wait_ms=0), nlp=blank_nlp)
    with serve(app) as url:
        start = time.monotonic()
        response = httpx.post(f"{url}/extract", json={"documents": [names(12)]}, timeout=60)  # 33 batches of 4
        elapsed = time.monotonic() - start
    assert response.status_code == 504
    assert response.json()["detail"].startswith("/extract: over its time budget of 0.5 s"), response.json()
    assert elapsed < 2 and len(calls) <= 4  # it gave the model back after the batch in progress


def test_classify_takes_turns_with_a_long_extract(
    roomy_model: Any, blank_nlp: Any, serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = counting(roomy_model, monkeypatch, lambda: time.sleep(0.05))
    app = create_app(roomy_model, Limits(extract_batch=4, max_wait_ms=0), nlp=blank_nlp)
    with serve(app) as url, ThreadPoolExecutor(1) as pool:
        extraction = pool.submit(httpx.post, f"{url}/extract", json={"documents": [names(12)]}, timeout=60)
        wait_until(lambda: len(calls) >= 3)
        start = time.monotonic()
        classified = httpx.post(f"{url}/classify", json={"items": [ITEM]}, timeout=60)
        waited = time.monotonic() - start
        assert classified.status_code == 200
        assert not extraction.done()  # classify was served between the extraction's batches, not after them
        assert extraction.result().status_code == 200
    assert waited < 1.0


def test_waiting_classify_requests_go_before_extract_batches(
    roomy_model: Any, blank_nlp: Any, serve: Serve, monkeypatch: pytest.MonkeyPatch, gate: threading.Event
) -> None:
    """Queued behind a busy model, a /classify request that came after an /extract batch still goes first."""
    predict = roomy_model.predict
    order: list[str] = []

    def gated(examples: Any, *args: Any, **kwargs: Any) -> Any:
        gate.wait(10)
        order.append("extract" if examples[0].text.startswith("Person") else "classify")
        return predict(examples, *args, **kwargs)

    monkeypatch.setattr(roomy_model, "predict", gated)
    app = create_app(roomy_model, Limits(extract_batch=4, max_wait_ms=0), nlp=blank_nlp)
    batcher = app.state.batcher
    with serve(app) as url, httpx.Client(timeout=60) as client, ThreadPoolExecutor(3) as pool:
        first = pool.submit(client.post, f"{url}/classify", json={"items": [ITEM]})
        wait_until(batcher.lock.locked)  # the model is busy with the first request
        extraction = pool.submit(client.post, f"{url}/extract", json={"documents": [names(3)]})  # 6 pairs: 2 batches
        wait_until(lambda: batcher.queue.qsize() == 1)  # its first batch waits
        second = pool.submit(client.post, f"{url}/classify", json={"items": [ITEM]})
        wait_until(lambda: batcher.queue.qsize() == 2)
        gate.set()
        assert [f.result().status_code for f in (first, second, extraction)] == [200, 200, 200]
    assert order == ["classify", "classify", "extract", "extract"]


def test_extract_batches_keep_to_their_share_while_classify_is_busy(short_model: Any) -> None:
    """Over its share of the model's recent time, a background batch lets a /classify request that comes within
    GRACE_S go first; with /classify idle, or within its share, it goes at once."""

    async def next_job(busy: list[float], active: bool, foreground_after: float | None) -> tuple[int, float]:
        batcher = Batcher(short_model, Limits(), asyncio.Lock())
        batcher._busy = busy
        batcher._last_foreground = time.monotonic() if active else -10.0
        loop = asyncio.get_running_loop()
        batcher.queue.put_nowait((BACKGROUND, 0, Job([], [], loop.create_future())))
        if foreground_after is not None:
            job = Job([], [], loop.create_future())
            loop.call_later(foreground_after, batcher.queue.put_nowait, (FOREGROUND, 1, job))
        start = time.monotonic()
        priority, _ = await batcher._next()
        return priority, time.monotonic() - start

    over = [0.1, 1.0]  # background had most of the recent time
    assert asyncio.run(next_job(over, True, 0.01))[0] == FOREGROUND
    priority, waited = asyncio.run(next_job(over, True, None))
    assert priority == BACKGROUND and GRACE_S <= waited < GRACE_S + 0.5  # no /classify came: it went after all
    priority, waited = asyncio.run(next_job(over, False, 0.01))
    assert priority == BACKGROUND and waited < GRACE_S  # /classify idle: no waiting
    within = [1.0, 0.1]
    priority, waited = asyncio.run(next_job(within, True, 0.01))
    assert priority == BACKGROUND and waited < GRACE_S


def test_a_full_queue_answers_503_and_ready_says_so(
    short_model: Any, serve: Serve, monkeypatch: pytest.MonkeyPatch, gate: threading.Event
) -> None:
    counting(short_model, monkeypatch, lambda: gate.wait(10) and None)
    app = create_app(short_model, Limits(max_queue=2, max_wait_ms=0, retry_after_s=3))
    with serve(app) as url, ThreadPoolExecutor(2) as pool:
        assert httpx.get(f"{url}/ready").status_code == 200
        waiting = [pool.submit(httpx.post, f"{url}/classify", json={"items": [ITEM]}, timeout=60) for _ in range(2)]
        wait_until(lambda: app.state.pools["classify"].full)
        refused = httpx.post(f"{url}/classify", json={"items": [ITEM]})
        assert refused.status_code == 503 and refused.headers["retry-after"] == "3"
        assert "queue is full" in refused.json()["detail"]
        embed = httpx.post(f"{url}/embed", json={"items": [ITEM]})
        assert embed.status_code == 503  # /embed shares the queue
        ready = httpx.get(f"{url}/ready")
        assert ready.status_code == 503 and ready.headers["retry-after"] == "3"
        health = httpx.get(f"{url}/health")
        assert health.status_code == 200 and health.json()["status"] == "saturated"
        assert health.json()["queues"]["classify"] == {"depth": 2, "capacity": 2}
        gate.set()
        assert [f.result().status_code for f in waiting] == [200, 200]
        assert httpx.get(f"{url}/ready").status_code == 200
        assert httpx.get(f"{url}/health").json()["status"] == "ok"


def test_classify_and_embed_over_their_time_budget_get_504(
    short_model: Any, serve: Serve, monkeypatch: pytest.MonkeyPatch, gate: threading.Event
) -> None:
    counting(short_model, monkeypatch, lambda: gate.wait(10) and None)
    app = create_app(short_model, Limits(timeout_s=0.3, max_wait_ms=0))
    with serve(app) as url:
        slow = httpx.post(f"{url}/classify", json={"items": [ITEM]}, timeout=60)
        assert slow.status_code == 504 and "over its time budget of 0.3 s" in slow.json()["detail"]
        blocked = httpx.post(f"{url}/embed", json={"items": [ITEM]}, timeout=60)  # the model is still held
        assert blocked.status_code == 504 and blocked.json()["detail"].startswith("/embed: over its time budget")
        gate.set()
        assert httpx.post(f"{url}/classify", json={"items": [ITEM]}, timeout=60).status_code == 200


def test_pipeline_bounds_and_deadline(roomy_model: Any, blank_nlp: Any) -> None:
    """The bounds live in the pipeline, so the CLI's batch job could use them too; without them nothing changes."""
    doc = names(6)
    entities = [Entity(e["text"], e["start"], e["end"], e["type"]) for e in doc["entities"]]
    free = Pipeline(roomy_model, ExtractionConfig(keep_negative=True), nlp=blank_nlp)
    everything = free.extract(doc["text"], entities)
    assert len(everything) > 0
    bounded = Pipeline(roomy_model, ExtractionConfig(keep_negative=True, max_pairs=30), nlp=blank_nlp)
    assert bounded.extract(doc["text"], entities) == everything  # 30 pairs: at the limit, same triples
    with pytest.raises(LimitExceeded, match="7 entities, more than the limit max_entities=6"):
        Pipeline(roomy_model, ExtractionConfig(max_entities=6), nlp=blank_nlp).extract_many(
            [doc["text"], "Ann met Bob."], [entities, [Entity("Ann", 0, 3)]]
        )
    with pytest.raises(DeadlineExceeded, match="ran out of time while parsing document 0"):
        free.extract_many([doc["text"]], [entities], deadline=time.monotonic() - 1)


# ----------------------------------------------------------------------------------------- case 3: chunked bodies
def raw_chunked(url: str, total: int, chunk: int = 16_384) -> tuple[bytes, int]:
    """POST /classify a chunked body of up to ``total`` bytes, stopping as soon as the server answers.

    Returns the response's bytes and how many body bytes were sent. A raw socket, so that nothing but the server
    decides when the upload ends.
    """
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(
            b"POST /classify HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        sent = 0
        while sent < total and not select.select([sock], [], [], 0)[0]:
            sock.sendall(b"%x\r\n%s\r\n" % (chunk, b" " * chunk))
            sent += chunk
        if sent >= total:
            sock.sendall(b"0\r\n\r\n")
        response = b""
        while data := sock.recv(65_536):  # until the server closes the connection, after the answer
            response += data
    return response, sent


def test_a_chunked_body_over_the_limit_gets_413(short_model: Any, serve: Serve) -> None:
    app = create_app(short_model, Limits(max_body_bytes=20_000))
    with serve(app) as url:
        response, sent = raw_chunked(url, 30_000_000)
        assert response.startswith(b"HTTP/1.1 413"), response[:200]
        assert b"request body over 20000 bytes" in response
        assert b"\r\nconnection: close\r\n" in response  # uvicorn reads no more of it
        assert sent < 10_000_000  # answered long before the 30 MB were sent

        def stream() -> Iterator[bytes]:
            yield from (b" " * 10_000 for _ in range(100))

        chunked = httpx.post(f"{url}/classify", content=stream(), headers={"content-type": "application/json"})
        assert chunked.status_code == 413 and "max_body_bytes" in chunked.json()["detail"]

        def small() -> Iterator[bytes]:
            body = json.dumps({"items": [ITEM]}).encode()
            yield from (body[i : i + 7] for i in range(0, len(body), 7))

        fine = httpx.post(f"{url}/classify", content=small(), headers={"content-type": "application/json"})
        assert fine.status_code == 200 and len(fine.json()["results"]) == 1  # within the limit: read whole


def test_a_body_that_stops_arriving_gets_408(short_model: Any, serve: Serve) -> None:
    """A client that sends half a body and stalls is answered within the time budget, not held for ever."""
    with serve(create_app(short_model, Limits(timeout_s=0.5))) as url:
        parts = urlsplit(url)
        with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
            sock.sendall(b'POST /classify HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\n{"items": ')
            start = time.monotonic()
            response = sock.recv(65_536)
            waited = time.monotonic() - start
            while data := sock.recv(65_536):  # the rest, until the server closes the connection
                response += data
    assert response.startswith(b"HTTP/1.1 408"), response
    assert b"did not arrive within 0.5 s" in response
    assert waited < 5


# ----------------------------------------------------------------------------------------- case 4: no 500s
@pytest.fixture(scope="module")
def lenient(roomy_model: Any, blank_nlp: Any, serve: Serve) -> Iterator[str]:
    with serve(create_app(roomy_model, Limits(max_body_bytes=200_000), nlp=blank_nlp)) as url:
        yield url


def item_json(**span: str) -> bytes:
    """A /classify body with raw JSON text in place of the head's fields (to hold what json.dumps refuses)."""
    head = ", ".join(f'"{k}": {v}' for k, v in {"start": "0", "end": "5", **span}.items())
    return b'{"items": [{"text": "Alice works for Acme.", "h": {%s}, "t": {"start": 16, "end": 20}}]}' % head.encode()


BAD = [
    ("/classify", item_json(start="NaN"), 422, "items[0].h.start: Input should be a finite number"),
    ("/classify", item_json(end="Infinity"), 422, "items[0].h.end: Input should be a finite number"),
    ("/classify", item_json(start="1.5"), 422, "items[0].h.start: Input should be a valid integer"),
    ("/classify", item_json(start='"abc"'), 422, "items[0].h.start: Input should be a valid integer"),
    ("/classify", item_json(start="1" + "0" * 5000), 400, "the body cannot be parsed as JSON"),
    (
        "/classify",
        item_json(type='"\\ud800"'),
        422,
        "items[0].h.type: Input should be a valid string, unable to parse",
    ),
    ("/classify", item_json(type='"' + "x" * 101 + '"'), 422, "items[0].h.type: String should have at most 100"),
    ("/classify", b'{"items": [{"text": "A\\ud800 B", "h": {"start": 0, "end": 1}}]}', 422, "items[0].text:"),
    ("/classify", b'{"items": [{"text": "Alice", "h": {"start": 0, "end": 5}}]}', 422, "items[0].t: Field required"),
    ("/classify", b'{"items": [{"text": "", "h": {"start": 0, "end": 1}, "t": {"start": 0, "end": 1}}]}', 422, "text"),
    ("/classify", b'{"items": "Alice"}', 422, "items: Input should be a valid list"),
    ("/classify", b'{"items": []}', 422, "items: List should have at least 1 item"),
    ("/classify", b"[1, 2]", 422, "body: Input should be a valid dictionary"),
    ("/classify", b'{"items": [', 422, "body: not valid JSON at character 11: Expecting value"),
    ("/classify", b'{"items": "caf\xe9"}', 400, "it is not UTF-8"),
    ("/classify", b'{"items": ' + b"[" * 100_000, 400, "it is nested too deeply"),
    ("/classify", item_json(end="99"), 422, "item 0: head character span [0, 99) is empty or out of range"),
    ("/embed", item_json(start="NaN"), 422, "items[0].h.start: Input should be a finite number"),
    (
        "/embed",
        b'{"items": [{"text": "a b", "h": {"start": 0, "end": 1}, "t": {"start": 2, "end": 3}}], "normalize": NaN}',
        422,
        "normalize: Input should be a valid boolean",
    ),
    (
        "/embed",
        b'{"items": [{"text": "a b", "h": {"start": 0, "end": 1}, "t": {"start": 2, "end": 3}}], "parts": ["x"]}',
        422,
        "parts[0]: Input should be 'h', 't' or 'm'",
    ),
    (
        "/extract",
        b'{"documents": [{"text": "Bob", "entities": [{"text": "Bob", "start": NaN, "end": 3}]}]}',
        422,
        "documents[0].entities[0].start: Input should be a finite number",
    ),
    (
        "/extract",
        b'{"documents": [{"text": "Bob met Ann.", "entities": [{"text": "Ann", "start": 0, "end": 3}]}]}',
        422,
        "document 0, entity 0: 'Ann' [0, 3) does not match the document text, which has 'Bob' there",
    ),
    (
        "/extract",
        b'{"documents": [{"text": "Bob met Ann.", "entities": [{"text": "Ann", "start": 8, "end": 13}]}]}',
        422,
        "document 0, entity 0: span [8, 13) is empty or out of range for a text of 12 characters",
    ),
    (
        "/extract",
        b'{"documents": [{"text": "Bob met Ann.", "entities": [{"text": "Ann", "start": 8, "end": 11}, '
        b'{"text": " ", "start": 3, "end": 4}]}]}',
        422,
        "document 0, entity 1: span [3, 4) covers only whitespace",
    ),
    ("/extract", b'{"documents": [{"text": "\\udfff"}]}', 422, "documents[0].text:"),
]


@pytest.mark.parametrize(("path", "body", "status", "message"), BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_malformed_values_get_a_4xx_that_names_the_field(
    lenient: str, path: str, body: bytes, status: int, message: str
) -> None:
    response = httpx.post(f"{lenient}{path}", content=body, headers={"content-type": "application/json"}, timeout=60)
    assert response.status_code == status, response.text
    assert message in response.json()["detail"], response.json()


def test_extract_without_spacy_is_503_not_the_clients_fault(
    short_model: Any, serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    import relenc.pipeline.extract as extract

    def missing(name: str, exclude: Any = ()) -> Any:
        raise RelencError(f"the spaCy pipeline {name!r} is not installed")

    monkeypatch.setattr(extract, "load_spacy", missing)
    with serve(create_app(short_model)) as url:
        response = httpx.post(f"{url}/extract", json={"documents": [{"text": "Bob met Ann."}]})
    assert response.status_code == 503
    assert response.json()["detail"].startswith("/extract is unavailable on this server: the spaCy pipeline")


def test_a_bug_is_a_logged_500(short_model: Any, serve: Serve, monkeypatch: pytest.MonkeyPatch, caplog: Any) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug in the model code")

    monkeypatch.setattr(short_model, "predict", broken)
    app = create_app(short_model)
    with serve(app) as url, caplog.at_level(logging.ERROR, logger="relenc.serve"):
        response = httpx.post(f"{url}/classify", json={"items": [ITEM]})
        assert httpx.get(f"{url}/health").status_code == 200  # and the service goes on
    assert response.status_code == 500
    assert response.json()["detail"].startswith("internal error: a bug in the service")
    assert "POST /classify failed with an internal error" in caplog.text
    assert "RuntimeError: a bug in the model code" in caplog.text  # the traceback is in the log
