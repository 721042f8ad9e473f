"""The page at ``GET /`` (``page.html``, shipped as package data) and the headers it is served with.

The page is one static file with its style and script inline: the server may have no network, so it loads nothing
from anywhere else. Its Content-Security-Policy allows exactly those inline blocks (by their SHA-256) and requests to
this server only, so even a bug that put user text into HTML could not run a script: a second wall behind the page
setting every text as text.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib import resources


def page_html() -> str:
    """The page, read from the installed package (a wheel ships it: ``[tool.setuptools.package-data]``)."""
    return resources.files("relenc.serve").joinpath("page.html").read_text(encoding="utf-8")


def page_headers(html: str) -> dict[str, str]:
    """The security headers of ``html``: its CSP, no MIME sniffing, no referrer, not framed by other sites."""
    policy = (
        f"default-src 'none'; script-src {_hashes(html, 'script')}; style-src {_hashes(html, 'style')}; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    return {"Content-Security-Policy": policy, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def _hashes(html: str, tag: str) -> str:
    """CSP sources for the inline ``<tag>`` blocks of ``html``: one ``'sha256-...'`` per block, of its exact text."""
    blocks = re.findall(rf"<{tag}>(.*?)</{tag}>", html, flags=re.DOTALL)
    digests = (base64.b64encode(hashlib.sha256(block.encode("utf-8")).digest()).decode("ascii") for block in blocks)
    return " ".join(f"'sha256-{digest}'" for digest in digests) or "'none'"
