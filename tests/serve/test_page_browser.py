"""The page at ``GET /`` in a real headless browser (Debian's ``chromium``, driven by playwright) against a real
``relenc serve`` process, as a person would use it: paste text, press Extract, read the highlights and the table.

The server runs with an API key (on loopback), so the page is also shown to load without one and to send the one
typed in. Some tests answer ``/extract`` from the test itself (``page.route``): what the server will send but does
not yet (``entities``, resolved ``name``\\s, hostile type names), errors, and a request held open to see the busy state.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from benchmarks.loopback import free_port, launch
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from relenc.data.labels import LabelSet
from relenc.encoding.builder import InputConfig
from relenc.models.extractor import RelationExtractor

pytestmark = pytest.mark.integration

KEY = "page-test-key"
#: A non-BMP character first (two UTF-16 units in JavaScript, one code point in Python), then three entities for
#: spaCy's NER (PERSON, ORG, GPE), then markup that must be shown, never run.
XSS = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'
TEXT = f"😀 Tim Cook works for Apple in Cupertino. {XSS}"
#: Chromium's flags: no sandbox (root in a container), no GPU, /tmp not /dev/shm, and no calls home (offline).
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"]


def chromium() -> str:
    """Debian's chromium; without it, a skip on a developer's machine and a failure in CI, which must have it."""
    path = shutil.which("chromium")
    if path is None:
        reason = "the browser test needs Debian's chromium: apt-get install chromium (.ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless chromium for the module: playwright drives the system's browser and never downloads one."""
    executable = chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def url(tiny_encoder: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``relenc serve`` with the API key, on a free loopback port, over a tiny model without a negative label:
    every candidate pair becomes a triple, so the table has rows whatever the random weights say."""
    labels = LabelSet.from_labels(["per:employee_of", "org:city_of_headquarters"], negative=None)
    out = tmp_path_factory.mktemp("page-model")
    RelationExtractor.build("ht", labels, {"main": tiny_encoder}, {"main": InputConfig()}).save_pretrained(out / "m")
    port = free_port()
    command = [sys.executable, "-m", "relenc", "serve", str(out / "m"), "--port", str(port)]
    server = launch(command, port, out / "serve.log", env={**os.environ, "RELENC_API_KEY": KEY})
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.send_signal(signal.SIGINT)  # graceful: uvicorn drains, the batcher finishes its queue
        server.wait(timeout=60)


@pytest.fixture
def page(browser: Browser, url: str) -> Iterator[Page]:
    """A fresh page at ``/``, loaded without any key, with the key typed into its field."""
    context = browser.new_context()
    opened = context.new_page()
    opened.goto(url)
    opened.get_by_label("API key").fill(KEY)
    yield opened
    context.close()


def extract(page: Page, text: str) -> None:
    page.get_by_label("Text").fill(text)
    page.get_by_role("button", name="Extract").click()


def answer(body: dict[str, Any], status: int = 200) -> Any:
    """A ``page.route`` handler that answers ``/extract`` with ``body``."""
    return lambda route: route.fulfill(status=status, content_type="application/json", body=json.dumps(body))


def span(text: str, mention: str, type_: str, **extra: str) -> dict[str, Any]:
    """An entity as the server gives it: Python (code point) offsets."""
    start = text.index(mention)
    return {"text": mention, "start": start, "end": start + len(mention), "type": type_, **extra}


def cell_texts(page: Page, column: int) -> list[str]:
    return page.locator(f"#triples tbody td:nth-child({column})").all_inner_texts()


def test_extract_highlights_entities_lists_triples_and_shows_markup_as_text(page: Page) -> None:
    extract(page, TEXT)
    expect(page.locator("#result")).to_be_visible(timeout=60_000)  # the server loads spaCy on its first /extract
    expect(page.get_by_role("status")).to_have_text("3 entities, 6 triples.")
    marks = page.locator("#text mark")
    assert marks.all_inner_texts() == ["Tim Cook", "Apple", "Cupertino"]  # offsets right after a non-BMP character
    assert [m.get_attribute("data-type") for m in marks.all()] == ["PERSON", "ORG", "GPE"]
    assert len({m.evaluate("m => getComputedStyle(m).backgroundColor") for m in marks.all()}) == 3  # one per type
    assert page.evaluate("getComputedStyle(document.body).maxWidth") == "960px"  # the CSP let the page's style in
    rows = page.locator("#triples tbody tr")
    assert rows.count() == 6  # every ordered pair of the 3 entities: the model has no negative label
    assert set(cell_texts(page, 1)) | set(cell_texts(page, 3)) == {"Tim Cook", "Apple", "Cupertino"}
    scores = [float(s) for s in cell_texts(page, 4)]
    assert scores == sorted(scores, reverse=True) and all(len(s.split(".")[1]) == 2 for s in cell_texts(page, 4))
    assert page.locator("#text").inner_text() == TEXT  # the markup is shown as it was typed
    assert page.locator("#result script, #result img").count() == 0
    assert page.evaluate("window.pwned") is None


def test_entities_and_names_from_the_server_are_used_and_markup_in_them_is_text(page: Page) -> None:
    """Markup in every field the page shows (a mention, a type, a relation): the server echoes what it was sent."""
    text = "\N{MATHEMATICAL SCRIPT CAPITAL X} He leads <b>Apple</b>. 😀 Tim Cook lives in Palo Alto."
    he, apple = span(text, "He", "PERSON", name="Tim Cook"), span(text, "<b>Apple</b>", "ORG")
    alto, img = span(text, "Palo Alto", '<img src=x onerror="window.pwned = 3">'), "<img src=x onerror=alert(4)>"
    relations = [
        {"head": he, "relation": "per:employee_of", "tail": apple, "score": 0.512},
        {"head": span(text, "Tim Cook", "PERSON"), "relation": img, "tail": alto, "score": 0.987},
    ]
    page.route("**/extract", answer({"documents": [{"relations": relations, "entities": [he, apple, alto]}]}))
    extract(page, text)
    expect(page.locator("#result")).to_be_visible()
    marks = page.locator("#text mark")
    assert marks.all_inner_texts() == ["He", "<b>Apple</b>", "Palo Alto"]  # the entities, not the relations' mentions
    assert marks.first.get_attribute("title") == "PERSON: Tim Cook"
    assert cell_texts(page, 1) == ["Tim Cook", "Tim Cook"] and cell_texts(page, 4) == ["0.99", "0.51"]
    assert cell_texts(page, 2) == [img, "per:employee_of"] and cell_texts(page, 3) == ["Palo Alto", "<b>Apple</b>"]
    assert page.locator("#triples tbody td").nth(4).get_attribute("title") == 'mentioned as "He"'
    assert page.locator("#result img, #result b").count() == 0 and page.evaluate("window.pwned") is None


def test_without_entities_the_relations_mentions_are_highlighted_once(page: Page) -> None:
    text = "Ann met Bob and Bob met Cy."
    ann, bob, cy = span(text, "Ann", "PERSON"), span(text, "Bob", "PERSON"), span(text, "Cy", "PERSON")
    relations = [{"head": h, "relation": "per:met", "tail": t, "score": 0.9} for h, t in ((ann, bob), (bob, cy))]
    page.route("**/extract", answer({"documents": [{"relations": relations}]}))
    extract(page, text)
    expect(page.locator("#result")).to_be_visible()
    assert page.locator("#text mark").all_inner_texts() == ["Ann", "Bob", "Cy"]


def test_busy_while_waiting_then_the_servers_error_in_the_page(page: Page) -> None:
    held: list[Route] = []
    page.route("**/extract", lambda route: held.append(route))
    extract(page, "Ann met Bob.")
    expect(page.get_by_role("button", name="Extract")).to_be_disabled()
    expect(page.get_by_role("status")).to_have_text("Extracting…")
    held[0].fulfill(status=413, content_type="application/json", body=json.dumps({"detail": "over max_pairs=1"}))
    expect(page.get_by_role("alert")).to_have_text("Error 413: over max_pairs=1")
    expect(page.get_by_role("button", name="Extract")).to_be_enabled()
    expect(page.get_by_role("status")).to_have_text("")


def test_a_missing_key_is_the_servers_401_in_the_page(page: Page) -> None:
    page.get_by_label("API key").fill("")
    page.get_by_label("Text").fill("Ann met Bob.")
    page.get_by_label("Text").press("Control+Enter")
    expect(page.get_by_role("alert")).to_contain_text("Error 401: missing 'Authorization: Bearer <key>' header")
    expect(page.get_by_label("API key")).to_be_focused()
    assert page.locator("#result").is_hidden()
