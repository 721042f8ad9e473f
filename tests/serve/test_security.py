"""Who may call the service (issue 13, case 5): loopback is trusted, anything else needs an API key."""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

uvicorn = pytest.importorskip("uvicorn")

from relenc.errors import RelencError  # noqa: E402
from relenc.serve import middleware  # noqa: E402
from relenc.serve.app import create_app  # noqa: E402
from relenc.serve.security import check_api_key, is_loopback  # noqa: E402

if TYPE_CHECKING:
    from conftest import RunCli, Serve

ITEM = {"text": "Alice works for Acme.", "h": {"start": 0, "end": 5}, "t": {"start": 16, "end": 20}}
KEY = "s3cret-key_0123456789"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.1", "::1", "[::1]", "localhost", "LocalHost"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)
    assert check_api_key(host, None) is None  # no key needed
    assert check_api_key(host, KEY) == KEY  # but one may be used


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "10.0.0.1", "192.168.1.5", "example.com", "::ffff:127.0.0.1"])
def test_other_hosts_need_a_key(host: str) -> None:
    assert not is_loopback(host)
    with pytest.raises(RelencError, match=r"without an API key.*RELENC_API_KEY"):
        check_api_key(host, None)
    with pytest.raises(RelencError, match="without an API key"):
        check_api_key(host, "")
    assert check_api_key(host, KEY) == KEY


def test_a_key_must_fit_in_a_header() -> None:
    for bad in ("two words", "tab\there", "caf\u00e9"):
        with pytest.raises(RelencError, match="printable ASCII without spaces"):
            check_api_key("0.0.0.0", bad)


def test_every_path_but_health_and_ready_needs_the_key(
    short_model: Any, serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[bytes] = []
    constant_time = hmac.compare_digest

    def compare(a: bytes, b: bytes) -> bool:
        compared.append(a)
        return constant_time(a, b)

    monkeypatch.setattr(middleware.hmac, "compare_digest", compare)
    with serve(create_app(short_model, api_key=KEY)) as url:
        good = {"Authorization": f"Bearer {KEY}"}
        assert httpx.get(f"{url}/health").status_code == 200
        assert httpx.get(f"{url}/ready").status_code == 200
        missing = httpx.post(f"{url}/classify", json={"items": [ITEM]})
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
        assert "missing 'Authorization: Bearer <key>' header" in missing.json()["detail"]
        wrong = httpx.post(f"{url}/classify", json={"items": [ITEM]}, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["detail"] == "invalid API key"
        basic = httpx.post(f"{url}/classify", json={"items": [ITEM]}, headers={"Authorization": f"Basic {KEY}"})
        assert basic.status_code == 401 and "must be 'Bearer <key>'" in basic.json()["detail"]
        for path in ("/labels", "/openapi.json", "/docs"):
            assert httpx.get(f"{url}{path}").status_code == 401, path
            assert httpx.get(f"{url}{path}", headers=good).status_code == 200, path
        assert httpx.post(f"{url}/classify", json={"items": [ITEM]}, headers=good).status_code == 200
        assert httpx.post(f"{url}/embed", json={"items": [ITEM]}, headers=good).status_code == 200
    assert b"nope" in compared and KEY.encode() in compared  # every key went through the constant-time compare


def test_serve_refuses_a_public_address_without_a_key(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RELENC_API_KEY", raising=False)
    code, _, stderr = run_cli(["serve", "no/such/model", "--host", "0.0.0.0"])
    assert code != 0
    assert stderr.strip().splitlines()[-1].startswith("error: refusing to listen on '0.0.0.0' without an API key")
    assert "no/such/model" not in stderr  # refused before the model was looked at


def test_serve_takes_the_key_from_the_environment(
    tiny_encoder: str, tmp_path: Path, run_cli: RunCli, serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    from relenc.data.labels import LabelSet
    from relenc.encoding.builder import InputConfig
    from relenc.models.extractor import RelationExtractor

    labels = LabelSet.from_labels(["no_relation", "per:employee_of"])
    RelationExtractor.build("ht", labels, {"main": tiny_encoder}, {"main": InputConfig()}).save_pretrained(tmp_path)
    apps: list[Any] = []

    def run(server: Any, sockets: list[Any]) -> None:
        apps.append(server.config.app)
        server.started = True

    monkeypatch.setattr(uvicorn.Server, "run", run)
    monkeypatch.setenv("RELENC_API_KEY", KEY)
    code, _, stderr = run_cli(["serve", str(tmp_path), "--host", "0.0.0.0", "--port", "0"])
    assert code == 0, stderr
    monkeypatch.undo()  # uvicorn.Server.run back, to serve the app the command built
    with serve(apps[0]) as url:  # the app the command built, served on loopback: it requires the key
        assert httpx.get(f"{url}/labels").status_code == 401
        assert httpx.get(f"{url}/labels", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
