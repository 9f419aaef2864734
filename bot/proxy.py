"""Behind a TLS-terminating reverse proxy (README "Running several processes").

aiohttp sees the proxy's plain-http connection, so `request.secure` is false and `request.remote`
is the proxy. The middleware here puts the client's scheme, address and host back from the
headers the proxy sets: `X-Forwarded-Proto`, `-For`, `-Host`, or (only when none of those is
present) the standard `Forwarded` (RFC 7239). It believes them only from a peer in
ORDERBOT_TRUSTED_PROXIES: anyone else could write them, and from anyone else they are ignored
(the request is served as it arrived, not refused: health checks and scrapes reach the server
directly). ORDERBOT_SECURE_COOKIES marks every cookie Secure whatever the request says.

Written here rather than taken from aiohttp-remotes: its strict middlewares answer 400 to every
request from an address not listed and to any X-Forwarded-For of another length than the
configured hops (a direct /readyz probe, or a client that sends its own X-Forwarded-For through
nginx's `$proxy_add_x_forwarded_for`), and its filtered one never checks the peer itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import TYPE_CHECKING

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

if TYPE_CHECKING:
    from bot.config import Settings

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

_X_FORWARDED = (hdrs.X_FORWARDED_FOR, hdrs.X_FORWARDED_PROTO, hdrs.X_FORWARDED_HOST)
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


def parse_trusted_proxies(text: str | None) -> tuple[Network, ...]:
    """'127.0.0.1, 10.0.0.0/24, ::1' -> networks; empty or None: none (the headers are ignored).
    Raises ValueError naming the entry that is neither an address nor a network."""
    networks: list[Network] = []
    for item in (text or "").split(","):
        entry = item.strip()
        if not entry:
            continue
        try:
            # strict=False: "10.0.0.1/24" means the network 10.0.0.0/24, as in nginx's set_real_ip
            networks.append(ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or network (such as 127.0.0.1 "
                             "or 10.0.0.0/24)") from None
    return tuple(networks)


def install(app: web.Application, settings: Settings) -> None:
    """Adds the middleware, outermost so every handler and middleware sees the client; nothing
    when neither setting is on."""
    trusted = parse_trusted_proxies(settings.trusted_proxies)
    if trusted or settings.secure_cookies:
        app.middlewares.insert(0, forwarded_middleware(trusted,
                                                       secure_cookies=settings.secure_cookies))


def forwarded_middleware(trusted: Sequence[Network], *, secure_cookies: bool = False
                         ) -> Middleware:
    def is_trusted(address: Address | None) -> bool:
        return address is not None and any(address in network for network in trusted)

    @web.middleware
    async def forwarded(request: web.Request, handler: Handler) -> web.StreamResponse:
        if trusted and is_trusted(_address(request.remote or "")):
            overrides = _overrides(request, is_trusted)
            if overrides:
                request = request.clone(**overrides)  # type: ignore[arg-type]
        response = await handler(request)
        if secure_cookies:
            for morsel in response.cookies.values():
                morsel["secure"] = True
        return response

    return forwarded


def _overrides(request: web.Request, is_trusted: Callable[[Address | None], bool]
               ) -> dict[str, str]:
    """scheme / remote / host as the nearest proxy reports them."""
    headers = request.headers
    if any(name in headers for name in _X_FORWARDED):
        chain = [_address(part) for part in _items(headers.getall(hdrs.X_FORWARDED_FOR, []))]
        protos = _items(headers.getall(hdrs.X_FORWARDED_PROTO, []))
        hosts = _items(headers.getall(hdrs.X_FORWARDED_HOST, []))
        # The nearest proxy's value is the last: an earlier one may be the client's own.
        proto, host = protos[-1] if protos else None, hosts[-1] if hosts else None
    elif request.forwarded:
        hops = request.forwarded  # one element per proxy, the nearest last
        chain = [_address(hop.get("for", "")) for hop in hops]
        proto, host = hops[-1].get("proto"), hops[-1].get("host")
    else:
        return {}
    overrides: dict[str, str] = {}
    if proto is not None and proto.lower() in ("http", "https"):
        overrides["scheme"] = proto.lower()
    if host and len(host) <= 255 and _HOST.match(host):
        overrides["host"] = host
    client = _client(chain, is_trusted)
    if client is not None:
        overrides["remote"] = str(client)
    return overrides


def _client(chain: Sequence[Address | None], is_trusted: Callable[[Address | None], bool]
            ) -> Address | None:
    """The right-most address that is not a trusted proxy (the ones left of it could be made
    up by the client); the left-most when all are trusted; None when an entry is unreadable."""
    for address in reversed(chain):
        if address is None:
            return None
        if not is_trusted(address):
            return address
    return chain[0] if chain else None


def _items(values: Sequence[str]) -> list[str]:
    # Repeated header lines are one comma-separated list (RFC 9110 §5.3).
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def _address(text: str) -> Address | None:
    """An address as proxies write it: 203.0.113.7, 203.0.113.7:4711, [2001:db8::1]:4711,
    "[2001:db8::1]"; an IPv4-mapped IPv6 peer (a dual-stack listener) as IPv4."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
