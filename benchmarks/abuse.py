"""A standing abuse test of ``relenc serve``: hostile requests, and valid load beside them. Loopback only, bounded.

    python benchmarks/abuse.py runs/kbp37-hybrid                 # the server catalogue and the load test
    python benchmarks/abuse.py runs/kbp37-hybrid --cli           # and the CLI's bad-file cases
    python benchmarks/abuse.py runs/kbp37-hybrid --seconds 20 --clients 16 --output benchmarks/results/abuse.json

1. Starts ``relenc serve MODEL`` as its own process on 127.0.0.1 (a free port) with an API key, as a user would.
2. **Catalogue**: each case sends a fixed, small number of bad requests (a pair too long to encode, alone and among
   valid ones; 30 MB bodies with and without a content-length; chunked and stalled bodies; NaN, Infinity, lone
   surrogates, wrong types, missing fields; too many items, documents, entities, pairs or characters; bad API keys;
   floods that fill the queues) and checks the answer: table ``case | expected | got | ok``.
3. **Load**: ``--clients`` valid /classify clients for ``--seconds``, first alone, then with the catalogue repeating
   in another process (without the /classify flood, whose whole point is to take that queue, and the stalled body,
   which only waits). Reports the valid clients' errors and p50/p99. Target: no errors, and p99 with the abuse
   within 3x of p99 alone.
4. ``--cli``: bad files for ``relenc extract``, ``evaluate``, ``predict`` and ``train`` (missing, not UTF-8, empty,
   a corrupt model, an output that cannot be written, output == input). Each must exit non-zero with a last stderr
   line that starts with ``error:``.

Every request has a timeout, every case a fixed count, and the whole run a time budget (``--budget``). Writes JSON
and exits 1 if any case fails (a case that cannot run here, such as a read-only directory as root, is "skip").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table

from loopback import free_port, launch
from relenc.io import write_text_atomic
from relenc.serve.limits import Limits

LIMITS = Limits(timeout_s=5.0)  # the server runs with these (a short time budget, so that 504s come quickly)
VALID: list[dict[str, Any]] = [
    {"text": "Thom Yorke of Radiohead played a show.", "h": {"start": 0, "end": 10}, "t": {"start": 14, "end": 23}},
    {"text": "Alice works for Acme in Paris.", "h": {"start": 0, "end": 5}, "t": {"start": 16, "end": 20}},
    {"text": "The kitchen is part of the house.", "h": {"start": 4, "end": 11}, "t": {"start": 27, "end": 32}},
    {"text": "A storm caused the flood last May.", "h": {"start": 2, "end": 7}, "t": {"start": 19, "end": 24}},
]
FAR_TEXT = "Alice " + "said that " * 300 + "Acme."  # ~600 word pieces between head and tail: never encodable
FAR = {"text": FAR_TEXT, "h": {"start": 0, "end": 5}, "t": {"start": len(FAR_TEXT) - 5, "end": len(FAR_TEXT) - 1}}
JSON = {"content-type": "application/json"}
#: Left out while the valid clients run: the /classify flood takes their queue by design (a 503 for them is the
#: queue limit working), and a stalled body only waits.
UNDER_LOAD_SKIP = frozenset({"flood /classify", "body stalls halfway"})
#: Run first while the valid clients run, in case one round takes longer than the load: the heaviest abuse.
UNDER_LOAD_FIRST = (
    "flood /extract",
    "extract at the pair limit",
    "too-long pair among 20 valid",
    "30 MB body, content-length",
    "30 MB body, chunked (httpx)",
    "30 MB body, chunked (socket)",
)


@dataclass
class Ctx:
    """Where the server is, and a client that sends the API key."""

    url: str
    key: str
    client: httpx.Client

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


Result = tuple[str, bool]  # what happened, and whether it was what the case expects


# ----------------------------------------------------------------------------------------- helpers
def detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", ""))
    except (ValueError, AttributeError):
        return response.text[:80]


def expect(response: httpx.Response, status: int, needle: str = "") -> Result:
    """``"413 request body over ..."``, and whether the status is ``status`` and the message holds ``needle``."""
    said = detail(response)
    return f"{response.status_code} {said[:70]}", response.status_code == status and needle in said


def post(ctx: Ctx, path: str, body: Any = None, content: Any = None, headers: dict[str, str] | None = None) -> Any:
    """POST with the key; ``body`` as JSON, or ``content`` as it is (bytes or a generator: chunked)."""
    sent = {**JSON, **ctx.auth, **(headers or {})}
    if body is not None:
        return ctx.client.post(f"{ctx.url}{path}", json=body, headers=sent)
    return ctx.client.post(f"{ctx.url}{path}", content=content, headers=sent)


def raw(ctx: Ctx, head: str, chunks: Iterable[bytes], wait: float = 15) -> tuple[int | None, str, int]:
    """A hand-made request on a socket: send ``chunks`` until the server answers, then read the answer.

    Returns the status (None if the connection closed first), the answer's first line and body, and how many bytes
    were sent. A socket, so that the server alone decides when the upload ends.
    """
    port = int(ctx.url.rsplit(":", 1)[1])
    sent, answer = 0, b""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        try:
            sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n")
            for chunk in chunks:
                if select.select([sock], [], [], 0)[0]:
                    break
                sock.sendall(chunk)
                sent += len(chunk)
            while data := sock.recv(65_536):  # until the server closes the connection, after its answer
                answer += data
        except (ConnectionError, TimeoutError):  # the server closed while we sent: an answer may have come first
            pass
    if not answer.startswith(b"HTTP/1.1 "):
        return None, "connection closed", sent
    lines = answer.decode("latin-1").split("\r\n")
    return int(lines[0].split()[1]), f"{lines[0][9:]} {lines[-1][:60]}", sent


def names(n: int, sentences: int = 1) -> dict[str, Any]:
    """A document of ``sentences`` sentences naming ``n`` people each, with their entities: n (n - 1) candidate pairs
    per sentence (n <= 20 keeps every pair within the pipeline's 40-token distance)."""
    text, entities = "", []
    for s in range(sentences):
        words = [f"Person{s}x{i}" for i in range(n)]
        for word in words:
            entities.append({"text": word, "start": len(text), "end": len(text) + len(word), "type": "PERSON"})
            text += word + " and "
        text = text.removesuffix(" and ") + " met. "
    return {"text": text.strip(), "entities": entities}


def item_json(**head: str) -> bytes:
    """A /classify body with raw JSON text in the head span's fields (for what ``json.dumps`` cannot write)."""
    fields = ", ".join(f'"{k}": {v}' for k, v in {"start": "0", "end": "5", **head}.items())
    return b'{"items": [{"text": "Alice works for Acme.", "h": {%s}, "t": {"start": 16, "end": 20}}]}' % fields.encode()


# ----------------------------------------------------------------------------------------- the catalogue
def too_long_among_valid(ctx: Ctx) -> Result:
    bodies = [{"items": [VALID[i % 4]]} for i in range(20)] + [{"items": [VALID[0], FAR]}]
    with ThreadPoolExecutor(len(bodies)) as pool:
        answers = list(pool.map(lambda body: post(ctx, "/classify", body), bodies))
    bad, good = answers[-1], answers[:-1]
    valid_ok = sum(r.status_code == 200 for r in good)
    got = f"bad {bad.status_code}, valid {valid_ok}/{len(good)} 200"
    return got, bad.status_code == 422 and "item 1: too long" in detail(bad) and valid_ok == len(good)


def big_chunked(ctx: Ctx) -> Result:
    status, said, sent = raw(
        ctx,
        f"POST /classify HTTP/1.1\nHost: x\nAuthorization: Bearer {ctx.key}\nContent-Type: application/json\n"
        "Transfer-Encoding: chunked\n",
        (b"%x\r\n%s\r\n" % (65_536, b" " * 65_536) for _ in range(460)),  # 30 MB
    )
    return f"{status} after {sent // 1_000_000} MB sent: {said}", status == 413 and sent < 30_000_000


def slow_body(ctx: Ctx) -> Result:
    start = time.monotonic()
    status, said, _ = raw(
        ctx,
        f"POST /classify HTTP/1.1\nHost: x\nAuthorization: Bearer {ctx.key}\nContent-Length: 100\n",
        [b'{"items": '],
        wait=LIMITS.timeout_s + 10,
    )
    waited = time.monotonic() - start
    return f"{status} after {waited:.1f} s: {said}", status == 408 and waited < LIMITS.timeout_s + 5


def bad_content_length(ctx: Ctx) -> Result:
    status, said, _ = raw(ctx, "POST /classify HTTP/1.1\nHost: x\nContent-Length: abc\n", [])
    return f"{status} {said}", status == 400


def auth_cases(ctx: Ctx) -> Result:
    """No key, a wrong key, the wrong scheme and the schema all get 401; the probes answer without a key."""
    url, item = ctx.url, {"items": VALID[:1]}
    answers = {
        "none": httpx.post(f"{url}/classify", json=item),
        "wrong": httpx.post(f"{url}/classify", json=item, headers={"Authorization": "Bearer not-the-key"}),
        "basic": httpx.get(f"{url}/labels", headers={"Authorization": f"Basic {ctx.key}"}),
        "openapi": httpx.get(f"{url}/openapi.json"),
        "health": httpx.get(f"{url}/health"),
        "ready": httpx.get(f"{url}/ready"),
    }
    codes = {name: response.status_code for name, response in answers.items()}
    want = {"none": 401, "wrong": 401, "basic": 401, "openapi": 401, "health": 200, "ready": 200}
    return " ".join(f"{k}={v}" for k, v in codes.items()), codes == want


def flood(ctx: Ctx, path: str, bodies: list[dict[str, Any]]) -> Result:
    """Send all ``bodies`` at once while polling /ready: only 200, 503 (with Retry-After) and 504 may come back."""

    async def run() -> tuple[list[Any], bool]:
        limits = httpx.Limits(max_connections=len(bodies) + 1)
        async with httpx.AsyncClient(timeout=60, limits=limits, headers={**JSON, **ctx.auth}) as client:
            done, saw_not_ready = False, False

            async def poll() -> None:
                nonlocal saw_not_ready
                while not done:
                    saw_not_ready |= (await client.get(f"{ctx.url}/ready")).status_code == 503
                    await asyncio.sleep(0.02)

            poller = asyncio.create_task(poll())
            answers = await asyncio.gather(*(client.post(f"{ctx.url}{path}", json=b) for b in bodies))
            done = True
            await poller
            return list(answers), saw_not_ready

    answers, saw_not_ready = asyncio.run(run())
    codes = Counter(r.status_code for r in answers)
    retry = all("retry-after" in r.headers for r in answers if r.status_code == 503)
    got = ", ".join(f"{n}x{code}" for code, n in sorted(codes.items())) + f"; /ready 503 seen: {saw_not_ready}"
    return got, set(codes) <= {200, 503, 504} and codes[503] > 0 and retry


def flood_classify(ctx: Ctx) -> Result:
    many = [VALID[i % 4] for i in range(LIMITS.max_items)]
    return flood(ctx, "/classify", [{"items": many}] * (3 * LIMITS.max_queue))


def flood_extract(ctx: Ctx) -> Result:
    return flood(ctx, "/extract", [{"documents": [names(12, 2)]}] * (3 * LIMITS.max_extract_queue))


def extract_at_the_pair_limit(ctx: Ctx) -> Result:
    """As many pairs as allowed, in sentences of 16 names: at most one time budget, then 200 or 504."""
    document = names(16, LIMITS.max_pairs // (16 * 15))
    pairs = 16 * 15 * (LIMITS.max_pairs // (16 * 15))
    start = time.monotonic()
    response = post(ctx, "/extract", {"documents": [document]})
    took = time.monotonic() - start
    got = f"{response.status_code} in {took:.1f} s ({pairs} pairs): {detail(response)[:50]}"
    return got, response.status_code in (200, 504) and took < LIMITS.timeout_s + 5


def catalogue() -> list[tuple[str, str, Callable[[Ctx], Result]]]:
    """Every case: its name, what it expects, and the function that runs it."""
    too_many = [VALID[0]] * (LIMITS.max_items + 1)
    big = LIMITS.max_text_chars
    cases: list[tuple[str, str, Callable[[Ctx], Result]]] = [
        ("pair too long to encode", "422", lambda c: expect(post(c, "/classify", {"items": [FAR]}), 422, "too long")),
        ("too-long pair among 20 valid", "422 alone", too_long_among_valid),
        ("30 MB body, content-length", "413", lambda c: expect(post(c, "/classify", content=b" " * 30_000_000), 413)),
        ("30 MB body, chunked (httpx)", "413", lambda c: expect(post(c, "/classify", content=spaces(30)), 413)),
        ("30 MB body, chunked (socket)", "413 early", big_chunked),
        ("small chunked body", "200", lambda c: expect(post(c, "/classify", content=trickle({"items": VALID})), 200)),
        ("body stalls halfway", "408", slow_body),
        ("content-length not a number", "400", bad_content_length),
        ("NaN start", "422", lambda c: expect(post(c, "/classify", content=item_json(start="NaN")), 422, "finite")),
        ("Infinity end", "422", lambda c: expect(post(c, "/classify", content=item_json(end="Infinity")), 422)),
        ("float for an int", "422", lambda c: expect(post(c, "/classify", content=item_json(start="1.5")), 422)),
        ("5000-digit number", "400", lambda c: expect(post(c, "/classify", content=item_json(end="9" * 5000)), 400)),
        ("lone surrogate in a type", "422", lambda c: expect(post(c, "/classify", content=surrogate()), 422, "type")),
        ("lone surrogate in a text", "422", lambda c: expect(post(c, "/extract", content=surrogate_doc()), 422)),
        ("body not UTF-8", "400", lambda c: expect(post(c, "/classify", content=b'{"items": "\xff"}'), 400, "UTF-8")),
        ("not JSON", "422", lambda c: expect(post(c, "/classify", content=b'{"items": ['), 422, "not valid JSON")),
        ("JSON nested 100k deep", "400", lambda c: expect(post(c, "/classify", content=b"[" * 100_000), 400)),
        ("items is a string", "422", lambda c: expect(post(c, "/classify", {"items": "Alice"}), 422, "items")),
        ("body is a list", "422", lambda c: expect(post(c, "/classify", [1, 2]), 422, "body")),
        ("missing tail", "422", lambda c: expect(post(c, "/classify", {"items": [{"text": "a b", "h": {}}]}), 422)),
        ("span out of range", "422", lambda c: expect(post(c, "/classify", {"items": [out_of_range()]}), 422)),
        ("too many items", "413", lambda c: expect(post(c, "/classify", {"items": too_many}), 413, "max_items")),
        ("text too long", "413", lambda c: expect(post(c, "/classify", {"items": [long_item(big)]}), 413, "chars")),
        ("too many characters", "413", lambda c: expect(post(c, "/extract", long_docs()), 413, "max_total")),
        ("too many documents", "413", lambda c: expect(post(c, "/extract", short_docs()), 413, "max_documents")),
        ("too many entities", "413", lambda c: expect(post(c, "/extract", entities(False)), 413, "max_entities")),
        ("too many pairs", "413", lambda c: expect(post(c, "/extract", entities(True)), 413, "max_pairs")),
        ("entity not in the text", "422", lambda c: expect(post(c, "/extract", mismatch()), 422, "does not match")),
        ("extract at the pair limit", "200 or 504", extract_at_the_pair_limit),
        ("bad or no API key", "401; probes 200", auth_cases),
        ("unknown path", "404", lambda c: expect(c.client.get(f"{c.url}/nothing", headers=c.auth), 404)),
        ("wrong method", "405", lambda c: expect(c.client.get(f"{c.url}/classify", headers=c.auth), 405)),
        ("flood /extract", "200/503/504", flood_extract),
        ("flood /classify", "200/503/504", flood_classify),
    ]
    return cases


def spaces(megabytes: int) -> Iterator[bytes]:
    yield from (b" " * 1_000_000 for _ in range(megabytes))


def trickle(body: Any) -> Iterator[bytes]:
    data = json.dumps(body).encode()
    yield from (data[i : i + 16] for i in range(0, len(data), 16))


def surrogate() -> bytes:
    return item_json(type='"\\ud800"')


def surrogate_doc() -> bytes:
    return b'{"documents": [{"text": "Bob \\udfff met Ann."}]}'


def out_of_range() -> dict[str, Any]:
    return {**VALID[0], "t": {"start": 14, "end": 999}}


def long_item(chars: int) -> dict[str, Any]:
    return {**VALID[0], "text": VALID[0]["text"] + " x" * chars}


def long_docs() -> dict[str, Any]:
    """Documents each within ``max_text_chars``, together over ``max_total_chars``."""
    count = LIMITS.max_total_chars // LIMITS.max_text_chars + 1
    return {"documents": [{"text": "y" * LIMITS.max_text_chars}] * count}


def short_docs() -> dict[str, Any]:
    return {"documents": [{"text": "Bob met Ann."}] * (LIMITS.max_documents + 1)}


def entities(pairs: bool) -> dict[str, Any]:
    """Over the pair limit within the entity limit (sentences of 16 names), or over the entity limit with few pairs."""
    if pairs:
        return {"documents": [names(16, LIMITS.max_pairs // (16 * 15) + 1)]}
    return {"documents": [names(10) for _ in range(LIMITS.max_entities // 10 + 1)]}


def mismatch() -> dict[str, Any]:
    return {"documents": [{"text": "Bob met Ann.", "entities": [{"text": "Ann", "start": 0, "end": 3}]}]}


def run_catalogue(
    ctx: Ctx, skip: frozenset[str] = frozenset(), deadline: float = float("inf"), first: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """Run every case not in ``skip`` (those named in ``first`` first); a case past ``deadline`` is not run."""
    rows = []
    ordered = sorted(catalogue(), key=lambda case: first.index(case[0]) if case[0] in first else len(first))
    for name, expected, case in ordered:
        if name in skip:
            continue
        if time.monotonic() > deadline:
            rows.append({"case": name, "expected": expected, "got": "not run: over the time budget", "ok": False})
            continue
        try:
            got, ok = case(ctx)
        except (httpx.HTTPError, OSError) as exc:
            got, ok = f"{type(exc).__name__}: {exc}"[:90], False
        rows.append({"case": name, "expected": expected, "got": got, "ok": ok})
    return rows


# ----------------------------------------------------------------------------------------- load
async def load(url: str, key: str, clients: int, seconds: float) -> dict[str, Any]:
    """``clients`` valid single-sentence /classify clients for ``seconds``: errors by kind, p50, p99."""
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    end = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(timeout=60, limits=limits, headers=headers) as client:

        async def worker(k: int) -> None:
            while time.monotonic() < end:
                start = time.perf_counter()
                try:
                    response = await client.post(f"{url}/classify", json={"items": [VALID[k % len(VALID)]]})
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] += 1
                    continue
                if response.status_code == 200:
                    latencies.append(time.perf_counter() - start)
                else:
                    errors[str(response.status_code)] += 1
                k += 1

        await asyncio.gather(*(worker(k) for k in range(clients)))
    ms = np.array(latencies or [float("nan")]) * 1000
    return {
        "requests": len(latencies) + sum(errors.values()),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
        "rps": round(len(latencies) / seconds, 1),
    }


def abuse_until(url: str, key: str, end: float, out: Any) -> None:
    """In another process (so the load clients share no interpreter with it): the catalogue, over and over."""
    rounds, ran, failed = 0, Counter[str](), Counter[str]()
    with httpx.Client(timeout=60) as client:
        ctx = Ctx(url, key, client)
        while time.monotonic() < end:
            for row in run_catalogue(ctx, UNDER_LOAD_SKIP, end, UNDER_LOAD_FIRST):
                if not row["got"].startswith("not run"):
                    ran[row["case"]] += 1
                    failed[row["case"]] += not row["ok"]
            rounds += 1
    out.put({"rounds": rounds, "cases_run": dict(ran), "failed_under_load": {k: v for k, v in failed.items() if v}})


def wait_idle(url: str, limit: float = 120) -> None:
    """Until the model is free and no queue holds work: the catalogue's last floods may still be running."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        health = httpx.get(f"{url}/health", timeout=10).json()
        if not health["model_busy"] and all(q["depth"] == 0 for q in health["queues"].values()):
            return
        time.sleep(0.1)


def load_phase(url: str, key: str, clients: int, seconds: float) -> dict[str, Any]:
    """The load alone, then with the abuse beside it; ok if no errors and p99 within 3x."""
    wait_idle(url)
    alone = asyncio.run(load(url, key, clients, seconds))
    spawn = multiprocessing.get_context("spawn")
    out = spawn.Queue()
    abuser = spawn.Process(target=abuse_until, args=(url, key, time.monotonic() + seconds, out))
    abuser.start()
    time.sleep(1)  # let the abuse start before the clients do
    together = asyncio.run(load(url, key, clients, seconds))
    abuse = out.get(timeout=seconds + 600)
    abuser.join(timeout=60)
    ratio = together["p99_ms"] / alone["p99_ms"] if alone["p99_ms"] else float("inf")
    ok = alone["errors"] == 0 and together["errors"] == 0 and ratio <= 3 and not abuse["failed_under_load"]
    return {"alone": alone, "with_abuse": together, "abuse": abuse, "p99_ratio": round(ratio, 2), "ok": ok}


# ----------------------------------------------------------------------------------------- the CLI
def cli_files(model: Path, tmp: Path) -> dict[str, Path]:
    """Bad and good input files, a corrupt model directory or two, and outputs that cannot be written."""
    labels = json.loads((model / "relenc_config.json").read_text(encoding="utf-8"))["labels"]
    record = {"id": "1", "text": "Alice works for Acme.", "h": {"start": 0, "end": 5}, "t": {"start": 16, "end": 20}}
    names = ("missing.txt", "docs.txt", "data.jsonl", "own.jsonl", "latin1.txt", "empty.txt")
    files = {name: tmp / name for name in names}
    files["docs.txt"].write_text("Alice works for Acme in Paris.\n", encoding="utf-8")
    files["data.jsonl"].write_text(json.dumps({**record, "label": labels[0]}) + "\n", encoding="utf-8")
    shutil.copy(files["data.jsonl"], files["own.jsonl"])  # for output == input: the others keep their data
    files["latin1.txt"].write_bytes(json.dumps({**record, "label": labels[0]}).encode().replace(b"Acme", b"Acm\xe9"))
    files["empty.txt"].write_text("", encoding="utf-8")
    files["config"] = tmp / "bad-config"
    files["config"].mkdir()
    (files["config"] / "relenc_config.json").write_text("{not json", encoding="utf-8")
    files["head"] = tmp / "bad-head"  # the real config and encoders, a truncated head
    files["head"].mkdir()
    shutil.copy(model / "relenc_config.json", files["head"])
    (files["head"] / "encoders").symlink_to((model / "encoders").resolve())
    (files["head"] / "head.safetensors").write_bytes((model / "head.safetensors").read_bytes()[:64])
    files["readonly"] = tmp / "readonly"
    files["readonly"].mkdir()
    files["readonly"].chmod(0o555)
    files["encoder"] = next(p for p in sorted((model / "encoders").iterdir()) if p.is_dir())
    return files


def cli_cases(model: Path, f: dict[str, Path]) -> list[tuple[str, list[str]]]:
    """Each case: its name and the relenc arguments; every one must fail with one ``error:`` line."""
    m, tmp = str(model), f["docs.txt"].parent
    out = str(tmp / "out.jsonl")
    under_file = str(f["docs.txt"] / "out.jsonl")
    ro = str(f["readonly"] / "out.jsonl")
    cases = [
        ("extract: missing input", ["extract", str(f["missing.txt"]), out, "-m", m]),
        ("extract: input not UTF-8", ["extract", str(f["latin1.txt"]), out, "-m", m]),
        ("extract: empty input", ["extract", str(f["empty.txt"]), out, "-m", m]),
        ("extract: corrupt model (config)", ["extract", str(f["docs.txt"]), out, "-m", str(f["config"])]),
        ("extract: corrupt model (head)", ["extract", str(f["docs.txt"]), out, "-m", str(f["head"])]),
        ("extract: output in read-only dir", ["extract", str(f["docs.txt"]), ro, "-m", m]),
        ("extract: output under a file", ["extract", str(f["docs.txt"]), under_file, "-m", m]),
        ("extract: output == input", ["extract", str(f["docs.txt"]), str(f["docs.txt"]), "-m", m]),
    ]
    for command in ("evaluate", "predict"):
        cases += [
            (f"{command}: missing file", [command, m, str(f["missing.txt"]), "-f", "jsonl"]),
            (f"{command}: file not UTF-8", [command, m, str(f["latin1.txt"]), "-f", "jsonl"]),
            (f"{command}: empty file", [command, m, str(f["empty.txt"]), "-f", "jsonl"]),
            (f"{command}: corrupt model (config)", [command, str(f["config"]), str(f["data.jsonl"]), "-f", "jsonl"]),
            (f"{command}: corrupt model (head)", [command, str(f["head"]), str(f["data.jsonl"]), "-f", "jsonl"]),
        ]
    data = [m, str(f["data.jsonl"]), "-f", "jsonl"]
    cases += [
        ("predict: output in read-only dir", ["predict", *data, "-o", ro]),
        ("predict: output under a file", ["predict", *data, "-o", under_file]),
        ("predict: output == input", ["predict", m, str(f["own.jsonl"]), "-f", "jsonl", "-o", str(f["own.jsonl"])]),
    ]
    train = ["train", "-f", "jsonl", "--strategy", "ht", "--encoder", str(f["encoder"]), "--max-steps", "1"]
    cases += [
        ("train: missing file", [*train, "--train", str(f["missing.txt"]), "-o", str(tmp / "run")]),
        ("train: file not UTF-8", [*train, "--train", str(f["latin1.txt"]), "-o", str(tmp / "run")]),
        ("train: empty file", [*train, "--train", str(f["empty.txt"]), "-o", str(tmp / "run")]),
        ("train: output in read-only dir", [*train, "--train", str(f["data.jsonl"]), "-o", str(f["readonly"] / "r")]),
        ("train: output under a file", [*train, "--train", str(f["data.jsonl"]), "-o", under_file]),
    ]
    return cases


def run_cli_cases(model: Path, deadline: float) -> list[dict[str, Any]]:
    rows = []
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    root = os.geteuid() == 0 if hasattr(os, "geteuid") else False
    with tempfile.TemporaryDirectory(prefix="relenc-abuse-") as tmp:
        files = cli_files(model, Path(tmp))
        for name, args in cli_cases(model, files):
            row: dict[str, Any] = {"case": name, "expected": "exit != 0, last line 'error: ...'"}
            if root and "read-only" in name:
                rows.append({**row, "got": "root writes anywhere: cannot test here", "ok": None})
                continue
            if time.monotonic() > deadline:
                rows.append({**row, "got": "not run: over the time budget", "ok": False})
                continue
            try:
                done = subprocess.run(
                    [sys.executable, "-m", "relenc", *args], capture_output=True, text=True, timeout=300, env=env
                )
            except subprocess.TimeoutExpired:
                rows.append({**row, "got": "still running after 300 s", "ok": False})
                continue
            last = (done.stderr.strip().splitlines() or [""])[-1]
            ok = done.returncode != 0 and last.startswith("error:")
            rows.append({**row, "got": f"exit {done.returncode}: {last[:90]}", "ok": ok})
        files["readonly"].chmod(0o755)
    return rows


# ----------------------------------------------------------------------------------------- main
def start_server(model: str, port: int, key: str, log: Path) -> subprocess.Popen[bytes]:
    """``relenc serve`` on loopback with ``LIMITS`` and the key (in the environment, not on the command line)."""
    options = [f"--{name.replace('_', '-')}={value}" for name, value in LIMITS.model_dump().items()]
    command = [sys.executable, "-m", "relenc", "serve", model, "--host", "127.0.0.1", "--port", str(port), *options]
    env = {**os.environ, "RELENC_API_KEY": key, "HF_HUB_OFFLINE": "1"}
    return launch(command, port, log, env)


def print_table(title: str, rows: list[dict[str, Any]]) -> None:
    table = Table(title=title)
    for column in ("case", "expected", "got", "ok"):
        table.add_column(column, overflow="fold")
    for row in rows:
        mark = "skip" if row["ok"] is None else ("ok" if row["ok"] else "FAIL")
        table.add_row(row["case"], row["expected"], row["got"], mark)
    Console(width=160).print(table)


def load_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name in ("alone", "with_abuse"):
        r = result[name]
        got = f"{r['requests']} requests, {r['errors']} errors {r['error_kinds'] or ''}, p50 {r['p50_ms']} ms, "
        rows.append(
            {
                "case": f"load {name}",
                "expected": "0 errors",
                "got": got + f"p99 {r['p99_ms']} ms",
                "ok": r["errors"] == 0,
            }
        )
    ratio = {"case": "p99 with abuse / alone", "expected": "<= 3", "got": str(result["p99_ratio"])}
    abuse = result["abuse"]
    beside = {"case": "the abuse beside the load", "expected": "as in the catalogue"}
    ran = f"{sum(abuse['cases_run'].values())} cases run in {abuse['rounds']} rounds"
    failed = abuse["failed_under_load"]
    beside["got"] = ran + (f"; failed: {failed}" if failed else "")
    return [*rows, {**ratio, "ok": result["p99_ratio"] <= 3}, {**beside, "ok": not failed}]


def commit() -> str | None:
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path, help="A trained model (or run) directory.")
    parser.add_argument("--seconds", type=float, default=10.0, help="Length of each load run.")
    parser.add_argument("--clients", type=int, default=16, help="Concurrent valid /classify clients.")
    parser.add_argument("--budget", type=float, default=900.0, help="Seconds for the whole run; later cases skip.")
    parser.add_argument("--cli", action="store_true", help="Also run the CLI's bad-file cases.")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/abuse.json"))
    args = parser.parse_args()
    model = args.model / "model" if (args.model / "model" / "relenc_config.json").is_file() else args.model
    deadline = time.monotonic() + args.budget
    port, key = free_port(), secrets.token_urlsafe(24)
    log = Path(tempfile.gettempdir()) / f"relenc-abuse-{port}.log"
    server = start_server(str(model), port, key, log)
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(timeout=60) as client:
            cases = run_catalogue(Ctx(url, key, client), deadline=deadline)
        loaded = load_phase(url, key, args.clients, args.seconds)
        alive = httpx.get(f"{url}/health", timeout=10).json()
    finally:
        server.send_signal(signal.SIGINT)  # graceful: uvicorn drains, the batcher finishes its queue
        server.wait(timeout=60)
    print_table(f"relenc serve under abuse ({model})", cases)
    print_table(f"{args.clients} valid /classify clients, {args.seconds:g} s each", load_rows(loaded))
    cli = run_cli_cases(model, deadline) if args.cli else []
    if cli:
        print_table("CLI bad files", cli)
    failed = [r["case"] for r in [*cases, *cli] if r["ok"] is False] + ([] if loaded["ok"] else ["load"])
    result = {
        "cases": cases,
        "load": loaded,
        "cli": cli,
        "health_after": alive,
        "failed": failed,
        "limits": LIMITS.model_dump(),
        "model": str(model),
        "commit": commit(),
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    write_text_atomic(args.output, json.dumps(result, indent=2))
    print(f"wrote {args.output}; server log: {log}; {len(failed)} failed: {', '.join(failed) or 'none'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
