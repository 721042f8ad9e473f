"""Who may call the service: loopback is trusted, anything else needs an API key.

The rule is checked before the model loads (``relenc serve`` refuses to start on a public address without a key),
and the key is compared in constant time by :class:`relenc.serve.middleware.BearerAuth`. No FastAPI import, so the
CLI can check the rule without the ``serve`` extra.
"""

from __future__ import annotations

import ipaddress

from relenc.errors import RelencError

API_KEY_ENV = "RELENC_API_KEY"


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ``::1``); False for everything else.

    Why not resolve names: a name could point anywhere tomorrow; only what is loopback by definition is trusted.
    ``0.0.0.0``, ``::`` and the empty host listen on every interface, so they are not loopback.
    """
    name = host.strip().removeprefix("[").removesuffix("]")
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_api_key(host: str, api_key: str | None) -> str | None:
    """The key to require (None: no key), or a RelencError if ``host`` is not loopback and there is no key.

    A key is allowed on loopback too. It must be printable ASCII without spaces: it travels in an HTTP header.
    """
    if api_key is not None and api_key == "":
        api_key = None
    if api_key is None:
        if is_loopback(host):
            return None
        raise RelencError(
            f"refusing to listen on {host!r} without an API key: anything but loopback (127.0.0.1, ::1, localhost) "
            f"is reachable by others; set {API_KEY_ENV} (or pass --api-key) and send 'Authorization: Bearer <key>'"
        )
    if not api_key.isascii() or not api_key.isprintable() or any(c.isspace() for c in api_key):
        raise RelencError("the API key must be printable ASCII without spaces: it is sent in an HTTP header")
    return api_key
