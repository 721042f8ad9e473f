"""The page at ``GET /`` (issue 14, item 7): self-contained HTML, public, with a strict Content-Security-Policy.

What the page does in a browser is tested in ``test_page_browser.py``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import httpx
import pytest

pytest.importorskip("fastapi")

from relenc.serve.app import create_app

if TYPE_CHECKING:
    from conftest import Serve


def test_the_page_is_html_with_its_form_and_nothing_from_elsewhere(serve: Serve, short_model: Any) -> None:
    with serve(create_app(short_model)) as url:
        response = httpx.get(f"{url}/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    html = response.text
    for element in (
        '<label for="input">',
        '<textarea id="input"',
        '<label for="key">',
        '<input id="key" type="password"',
        '<button id="extract" type="submit">Extract</button>',
        'role="alert"',
        '<table id="triples">',
    ):
        assert element in html
    assert not re.search(r"https?:|\b(src|href)\s*=|@import|url\(", html), "the page must load nothing"


def test_the_policy_allows_only_the_pages_own_blocks_and_this_server(serve: Serve, short_model: Any) -> None:
    with serve(create_app(short_model)) as url:
        headers = httpx.get(f"{url}/").headers
    policy = dict(part.strip().split(" ", 1) for part in headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'none'" and policy["connect-src"] == "'self'"
    assert re.fullmatch(r"'sha256-[A-Za-z0-9+/]{43}='", policy["script-src"])
    assert re.fullmatch(r"'sha256-[A-Za-z0-9+/]{43}='", policy["style-src"])
    assert headers["x-content-type-options"] == "nosniff"


def test_with_a_key_the_page_is_public_but_its_data_is_not(serve: Serve, short_model: Any) -> None:
    """A browser opening the page sends no key; the page holds no data, and /extract and the rest still need it."""
    with serve(create_app(short_model, api_key="s3cret")) as url:
        assert httpx.get(f"{url}/").status_code == 200
        assert httpx.post(f"{url}/extract", json={"documents": [{"text": "Hi."}]}).status_code == 401
        assert httpx.get(f"{url}/labels").status_code == 401
        assert httpx.get(f"{url}/labels", headers={"Authorization": "Bearer s3cret"}).status_code == 200
