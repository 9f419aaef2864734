"""Behind a TLS-terminating reverse proxy: ORDERBOT_TRUSTED_PROXIES and ORDERBOT_SECURE_COOKIES.

The real app on a real test server; the test client plays the proxy, connecting from 127.0.0.1
over plain http and sending the headers nginx or Caddy would.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from bot import cli
from bot.app import create_app
from bot.config import Settings, load_settings
from tests.conftest import ClientFactory

Client = TestClient[web.Request, web.Application]
TOKEN = "kitchen-token-for-tests-0123456789"
HTTPS = {"X-Forwarded-Proto": "https"}


async def whoami(request: web.Request) -> web.Response:
    return web.json_response({"scheme": request.scheme, "remote": request.remote,
                              "host": request.host, "secure": request.secure})


async def client_for(aiohttp_client: ClientFactory, settings: Settings, **update: object
                     ) -> Client:
    app = create_app(settings.model_copy(update={
        "kitchen_display_token": SecretStr(TOKEN), **update}))
    # What any handler sees of the request (none of the real ones shows it back).
    app.router.add_get("/test/whoami", whoami)
    return await aiohttp_client(app)


async def login_cookie(client: Client, path: str, headers: dict[str, str]) -> str:
    response = await client.get(path, params={"token": TOKEN}, headers=headers,
                                allow_redirects=False)
    assert response.status == 303
    return response.headers["Set-Cookie"]


def is_secure(set_cookie: str) -> bool:
    return "secure" in [part.strip().lower() for part in set_cookie.split(";")]


async def test_behind_a_trusted_proxy_the_login_cookies_are_secure(
        aiohttp_client: ClientFactory, settings: Settings) -> None:
    client = await client_for(aiohttp_client, settings, trusted_proxies="10.0.0.0/8, 127.0.0.1")
    kitchen = await login_cookie(client, "/kitchen", HTTPS)
    owner = await login_cookie(client, "/owner/report", HTTPS)
    assert is_secure(kitchen) and "HttpOnly" in kitchen and "SameSite=Strict" in kitchen
    assert is_secure(owner)
    # The same proxy forwarding a plain-http visit: no Secure, or the browser would drop it.
    assert not is_secure(await login_cookie(client, "/kitchen", {"X-Forwarded-Proto": "http"}))


async def test_the_headers_of_an_untrusted_peer_are_ignored(
        aiohttp_client: ClientFactory, settings: Settings) -> None:
    client = await client_for(aiohttp_client, settings, trusted_proxies="10.0.0.0/8")
    forged = {**HTTPS, "X-Forwarded-For": "203.0.113.7", "X-Forwarded-Host": "evil.example",
              "Forwarded": "for=203.0.113.8;proto=https"}
    assert not is_secure(await login_cookie(client, "/kitchen", forged))
    seen = await (await client.get("/test/whoami", headers=forged)).json()
    assert seen["remote"] == "127.0.0.1" and seen["scheme"] == "http"
    assert seen["host"] != "evil.example"
    # Served, not refused: direct health checks and scrapes carry no proxy headers at all.
    assert (await client.get("/healthz")).status == 200


async def test_without_the_setting_no_header_is_believed(
        aiohttp_client: ClientFactory, settings: Settings) -> None:
    client = await client_for(aiohttp_client, settings)
    assert not is_secure(await login_cookie(client, "/kitchen", HTTPS))
    seen = await (await client.get("/test/whoami", headers={"X-Forwarded-For": "203.0.113.7"}
                                   )).json()
    assert seen["remote"] == "127.0.0.1"


async def test_the_client_address_and_host_come_from_the_nearest_proxy(
        aiohttp_client: ClientFactory, settings: Settings) -> None:
    client = await client_for(aiohttp_client, settings, trusted_proxies="127.0.0.1,10.0.0.5")
    # nginx's $proxy_add_x_forwarded_for appends the client to whatever the client sent itself;
    # a second, trusted proxy (10.0.0.5) appended the first's peer.
    seen = await (await client.get("/test/whoami", headers={
        "X-Forwarded-For": "198.51.100.66, 203.0.113.7, 10.0.0.5",
        "X-Forwarded-Proto": "https", "X-Forwarded-Host": "bot.example.com"})).json()
    assert seen == {"scheme": "https", "remote": "203.0.113.7", "host": "bot.example.com",
                    "secure": True}

    # The standard header, when the proxy sets no X-Forwarded-* (IPv6 client, with its port).
    seen = await (await client.get("/test/whoami", headers={
        "Forwarded": 'for="[2001:db8::1]:4711";proto=https;host=bot.example.com'})).json()
    assert seen == {"scheme": "https", "remote": "2001:db8::1", "host": "bot.example.com",
                    "secure": True}

    # A Forwarded header passed through from the client does not override the proxy's own.
    seen = await (await client.get("/test/whoami", headers={
        "X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "http",
        "Forwarded": "for=198.51.100.66;proto=https"})).json()
    assert (seen["remote"], seen["scheme"]) == ("203.0.113.7", "http")


async def test_secure_cookies_can_be_forced(
        aiohttp_client: ClientFactory, settings: Settings) -> None:
    client = await client_for(aiohttp_client, settings, secure_cookies=True)
    assert is_secure(await login_cookie(client, "/kitchen", {}))
    assert is_secure(await login_cookie(client, "/owner/report", {}))


def test_a_bad_proxy_address_stops_the_server_at_start(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray orderbot.toml
    monkeypatch.setenv("ORDERBOT_SECURE_COOKIES", "true")
    monkeypatch.setenv("ORDERBOT_TRUSTED_PROXIES", " 127.0.0.1 , ::1, 10.0.0.7/24 ")
    settings = load_settings()
    assert settings.secure_cookies is True
    assert settings.trusted_proxies == " 127.0.0.1 , ::1, 10.0.0.7/24 "

    monkeypatch.setenv("ORDERBOT_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/33")
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        with pytest.raises(SystemExit) as stopped:
            cli.main(["serve"])
    finally:  # main() installs the server's log handler; later tests must not inherit it
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()
        root.setLevel(level)
    message = str(stopped.value.code)
    assert "ORDERBOT_TRUSTED_PROXIES" in message and "'10.0.0.0/33'" in message
    assert "is not an IP address or network" in message
