"""The kitchen display: an outbox adapter, a live hub (server-sent events) and the /kitchen page.

Tickets reach the screen as an outbox adapter (kind "display"), like a printer: the ticket row is
written in the order's own transaction, the dispatcher retries it, and `deliver` stores the
ticket in `display_ticket` before telling the open pages. So a ticket is never lost between the
commit and a browser, the page shows exactly the ticket document every adapter gets (names and
prices as ordered, even after a menu edit), and after a restart each page that reconnects gets
every open ticket again from the table. Statuses live on the order row (bot.order_status).

Several server processes (`orderbot serve --workers N`, or machines behind a proxy): a page is
connected to one of them, but a ticket or status change may happen in another. On PostgreSQL
each hub also announces its changes with NOTIFY and LISTENs for the others' (one connection per
process), so every page shows every change at once; SQLite stays within the process.

Access: ORDERBOT_KITCHEN_DISPLAY_TOKEN. `/kitchen?token=…` sets an HttpOnly, SameSite=Strict
cookie (a value derived from the token, not the token) and redirects to plain `/kitchen`, so the
token does not stay in the address bar or a Referer; scripts may send `Authorization: Bearer
<token>` instead. Status changes (POST) also need the page's CSRF value in a header, which
another site can neither read nor send without a CORS preflight we never answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from importlib import resources
from typing import Any

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from adapters.base import AdapterContext
from adapters.db import DisplayTicket, OrderRow, utcnow
from adapters.delivery import DeliveryError
from bot.cancellation import CANCELLED_BY_WORDS, is_cancelled_by
from bot.order_status import CANCELLED, OPEN_STORED, normalise

log = logging.getLogger(__name__)

COOKIE = "orderbot_kitchen"
CSRF_HEADER = "X-Kitchen-CSRF"
HEARTBEAT_SECONDS = 15.0  # also how soon a closed tab is noticed and forgotten
QUEUE_LIMIT = 200  # events a slow tab may lag behind before it is made to reconnect
NOTIFY_CHANNEL = "orderbot_kitchen"  # PostgreSQL: "<hub origin>:<order number>" per change
RELISTEN_MAX_SECONDS = 30.0
DONE_SHOWN_FOR = timedelta(minutes=30)  # done tickets stay (small) on screen, to undo a mis-tap
# Finished orders listed in the "recent" section: done (undoable) and cancelled (final, but the
# kitchen should see where a ticket went rather than have it vanish).
RECENT_STORED: tuple[str, ...] = ("done", CANCELLED)
ASSETS = {"kitchen.js": "application/javascript", "kitchen.css": "text/css"}
SECURITY_HEADERS = {
    # Defence in depth behind the page's own escaping: no inline script, nothing foreign.
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "connect-src 'self'; base-uri 'none'; form-action 'none'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

ChangeStatus = Callable[[int, object, object], Awaitable[web.Response]]  # number, status, reason


class DisplayAccess:
    """Checks the display token in constant time; never stores or logs it in clear."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()

    @property
    def configured(self) -> bool:
        return bool(self._token)

    def _derive(self, purpose: str) -> str:
        return hmac.new(self._token, purpose.encode(), hashlib.sha256).hexdigest()

    def cookie_value(self) -> str:
        return self._derive("orderbot kitchen display session")

    def csrf_value(self) -> str:
        return self._derive("orderbot kitchen display csrf")

    def token_ok(self, given: str | None) -> bool:
        return self.configured and given is not None and hmac.compare_digest(
            given.encode(), self._token)

    def authorised(self, request: web.Request) -> bool:
        """A valid cookie or bearer token."""
        if not self.configured:
            return False
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and self.token_ok(value.strip()):
            return True
        cookie = request.cookies.get(COOKIE)
        return cookie is not None and hmac.compare_digest(cookie.encode(),
                                                          self.cookie_value().encode())

    def may_change(self, request: web.Request) -> bool:
        """POSTs: a bearer token (never sent by a browser on its own), or cookie plus CSRF."""
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            return self.token_ok(value.strip())
        given = request.headers.get(CSRF_HEADER, "")
        return self.authorised(request) and hmac.compare_digest(given.encode(),
                                                                self.csrf_value().encode())


class RedactToken(logging.Filter):
    """Keeps `?token=…` out of aiohttp's access log (the page's first request carries it)."""

    PATTERN = re.compile(r"([?&]token=)[^&\s\"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "token=" in message:
            record.msg, record.args = self.PATTERN.sub(r"\1[redacted]", message), None
        return True


REDACT_TOKEN = RedactToken()


def ticket_view(ticket: DisplayTicket, order: OrderRow) -> dict[str, Any]:
    """What the page gets for one ticket: the ticket document plus where it is now, and for a
    cancelled order who cancelled it and the reason the customer was told, so the cook sees
    why a ticket left (`by` null and `by_words` "" when not recorded)."""
    status = normalise(order.status) or order.status
    cancel = None
    if status == CANCELLED:
        by = order.cancelled_by if is_cancelled_by(order.cancelled_by) else None
        cancel = {"by": by, "by_words": CANCELLED_BY_WORDS[by] if by else "",
                  "reason": order.cancel_reason}
    return {"number": ticket.number, "status": status,
            "status_at": order.status_at.isoformat() if order.status_at else None,
            "ticket": json.loads(ticket.ticket), "cancel": cancel}


class DisplayHub:
    """The open pages (each an SSE stream with its own queue) and what they are sent."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._queues: set[asyncio.Queue[str | None]] = set()
        self._closed = False
        bind = sessions.kw.get("bind")
        self._engine: AsyncEngine | None = (
            bind if isinstance(bind, AsyncEngine) and bind.dialect.name == "postgresql" else None)
        self._origin = uuid.uuid4().hex[:12]  # so a process skips its own notices
        self._listener: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()

    @property
    def listeners(self) -> int:
        return len(self._queues)

    async def tickets(self) -> list[dict[str, Any]]:
        """Every open ticket, and the recently done or cancelled ones, oldest order first."""
        async with self._sessions() as session:
            rows = await session.exec(
                select(DisplayTicket, OrderRow)
                .join(OrderRow, col(OrderRow.number) == col(DisplayTicket.number))
                .where(or_(col(OrderRow.status).in_(OPEN_STORED),
                           col(OrderRow.status).in_(RECENT_STORED)
                           & (col(OrderRow.status_at) >= utcnow() - DONE_SHOWN_FOR)))
                .order_by(col(DisplayTicket.number)))
            return [ticket_view(ticket, order) for ticket, order in rows]

    async def ticket(self, number: int) -> dict[str, Any] | None:
        async with self._sessions() as session:
            rows = await session.exec(
                select(DisplayTicket, OrderRow)
                .join(OrderRow, col(OrderRow.number) == col(DisplayTicket.number))
                .where(col(DisplayTicket.number) == number))
            found = rows.first()
        return ticket_view(*found) if found else None

    async def publish(self, number: int) -> None:
        """Send one ticket's current state to every open page (an order not shown: nothing)."""
        view = await self.ticket(number)
        if view is not None:
            self.broadcast("ticket", view)
            await self._notify_others(number)

    async def _notify_others(self, number: int) -> None:
        if self._engine is None:
            return
        try:
            async with self._engine.begin() as connection:
                await connection.execute(text("SELECT pg_notify(:channel, :payload)"),
                                         {"channel": NOTIFY_CHANNEL,
                                          "payload": f"{self._origin}:{number}"})
        except Exception as error:  # the change itself is committed; only other screens lag
            log.warning("kitchen screens on other processes not told of order %s (%s); they "
                        "catch up when they reconnect", number, type(error).__name__)

    async def start_listening(self, _app: web.Application | None = None) -> None:
        """PostgreSQL: show other processes' changes too (see the module docstring)."""
        if self._engine is not None and self._listener is None:
            self._listener = asyncio.create_task(self._listen(), name="kitchen-listen")
            # Serving before LISTEN holds would miss the first changes; a database slow to
            # answer only delays them (the listener keeps trying).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._listening.wait(), timeout=5.0)

    async def stop_listening(self, _app: web.Application | None = None) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None

    async def _listen(self) -> None:
        import psycopg  # noqa: PLC0415  (PostgreSQL only: the optional dependency)

        assert self._engine is not None
        url = self._engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False)
        delay, lost = 1.0, False
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(url, autocommit=True) as link:
                    await link.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    if lost:  # changes may have been missed meanwhile: every page starts over
                        self.broadcast("snapshot", {"tickets": await self.tickets()})
                    delay, lost = 1.0, False
                    self._listening.set()
                    async for notice in link.notifies():
                        await self._from_other(notice.payload)
            except Exception as error:
                lost = True
                log.warning("kitchen screens: no change notices from other processes (%s); "
                            "trying again in %.0f s", type(error).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RELISTEN_MAX_SECONDS)

    async def _from_other(self, payload: str) -> None:
        origin, _, number = payload.partition(":")
        if origin == self._origin or not number.isdigit():
            return
        view = await self.ticket(int(number))
        if view is not None:
            self.broadcast("ticket", view)

    def broadcast(self, event: str, data: dict[str, Any]) -> None:
        message = f"event: {event}\ndata: {json.dumps(data)}\n\n"
        for queue in list(self._queues):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                # A tab that stopped reading: end its stream; its browser reconnects and gets a
                # fresh snapshot instead of an ever-growing backlog here.
                self._queues.discard(queue)
                _end(queue)

    def close(self) -> None:
        """Server shutdown: end every stream so the shutdown need not wait for them."""
        self._closed = True
        for queue in self._queues:
            _end(queue)
        self._queues.clear()

    async def stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={
            "Content-Type": "text/event-stream", "Cache-Control": "no-store",
            "X-Accel-Buffering": "no"})  # nginx: pass events through at once
        await response.prepare(request)
        if self._closed:
            return response
        queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=QUEUE_LIMIT)
        self._queues.add(queue)  # before the snapshot, so nothing falls between the two
        try:
            snapshot = {"tickets": await self.tickets()}
            await response.write(f"retry: 2000\nevent: snapshot\ndata: {json.dumps(snapshot)}"
                                 "\n\n".encode())
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    message = ": still here\n\n"
                if message is None:
                    break
                await response.write(message.encode())
        except ConnectionResetError:
            pass  # the tab was closed
        finally:
            self._queues.discard(queue)
        return response


def _end(queue: asyncio.Queue[str | None]) -> None:
    while not queue.empty():
        queue.get_nowait()
    queue.put_nowait(None)


HUB_KEY: web.AppKey[DisplayHub] = web.AppKey("orderbot_display_hub", DisplayHub)


def hub_for(app: web.Application, sessions: async_sessionmaker[AsyncSession]) -> DisplayHub:
    """The app's one hub, shared by the adapter (which fills it) and the page (which reads it)."""
    if HUB_KEY not in app:
        hub = app[HUB_KEY] = DisplayHub(sessions)
        app.on_startup.append(hub.start_listening)
        app.on_cleanup.append(hub.stop_listening)
    return app[HUB_KEY]


class DisplayAdapter:
    """The ticket adapter "display" (adapters.base): store the ticket for the screen, show it."""

    name = "display"

    def __init__(self, sessions: async_sessionmaker[AsyncSession], hub: DisplayHub) -> None:
        self._sessions = sessions
        self._hub = hub

    async def deliver(self, ticket: dict[str, Any], _key: str) -> str:
        try:
            number = int(ticket["order"]["number"])
        except (KeyError, TypeError, ValueError) as error:
            raise DeliveryError(f"not a kitchen ticket: {error!r}", retryable=False) from error
        async with self._sessions() as session, session.begin():
            existing = await session.exec(
                select(DisplayTicket.id).where(col(DisplayTicket.number) == number))
            if existing.first() is None:  # a repeated delivery stores it once
                session.add(DisplayTicket(number=number, ticket=json.dumps(ticket)))
        await self._hub.publish(number)
        return f"shown on {self._hub.listeners} screen(s)"


def build_adapter(context: AdapterContext) -> DisplayAdapter:
    """Factory for adapters.base.FACTORIES; the page needs ORDERBOT_KITCHEN_DISPLAY_TOKEN."""
    if not context.settings.secret("kitchen_display_token"):
        raise ValueError("the display adapter needs ORDERBOT_KITCHEN_DISPLAY_TOKEN (the "
                         "kitchen opens /kitchen?token=…)")
    return DisplayAdapter(context.sessions, hub_for(context.app, context.sessions))


def _asset(name: str) -> str:
    return (resources.files("bot") / "static" / name).read_text(encoding="utf-8")


def add_routes(app: web.Application, access: DisplayAccess, hub: DisplayHub,
               change_status: ChangeStatus) -> None:
    """GET /kitchen (page), /kitchen/events (SSE), /kitchen/tickets (JSON), POST status."""
    logging.getLogger("aiohttp.access").addFilter(REDACT_TOKEN)
    page = _asset("kitchen.html")
    assets = {name: _asset(name) for name in ASSETS}

    def refused(request: web.Request) -> web.Response:
        if not access.configured:
            return web.Response(status=403, text="The kitchen display is off: set "
                                "ORDERBOT_KITCHEN_DISPLAY_TOKEN.", headers=SECURITY_HEADERS)
        has_credentials = COOKIE in request.cookies or "Authorization" in request.headers
        return web.Response(status=403 if has_credentials else 401,
                            text="Open the kitchen display with /kitchen?token=… (the "
                            "ORDERBOT_KITCHEN_DISPLAY_TOKEN).", headers=SECURITY_HEADERS)

    async def show_page(request: web.Request) -> web.StreamResponse:
        given = request.query.get("token")
        if given is not None:
            if not access.token_ok(given):
                return web.Response(status=403, text="Wrong kitchen display token.",
                                    headers=SECURITY_HEADERS)
            response = web.Response(status=303, headers={**SECURITY_HEADERS,
                                                          "Location": "/kitchen"})
            response.set_cookie(COOKIE, access.cookie_value(), httponly=True,
                                samesite="Strict", secure=request.secure, path="/kitchen",
                                max_age=400 * 24 * 3600)  # a kitchen screen stays signed in
            return response
        if not access.authorised(request):
            return refused(request)
        html = page.replace("__CSRF__", access.csrf_value())
        return web.Response(text=html, content_type="text/html", headers=SECURITY_HEADERS)

    async def asset(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in ASSETS:
            raise web.HTTPNotFound()
        return web.Response(text=assets[name], content_type=ASSETS[name],
                            headers=SECURITY_HEADERS)

    async def events(request: web.Request) -> web.StreamResponse:
        if not access.authorised(request):
            return refused(request)
        return await hub.stream(request)

    async def tickets(request: web.Request) -> web.Response:
        if not access.authorised(request):
            return refused(request)
        return web.json_response({"tickets": await hub.tickets()}, headers=SECURITY_HEADERS)

    async def set_status(request: web.Request) -> web.Response:
        if not access.authorised(request) and "Authorization" not in request.headers:
            return refused(request)
        if not access.may_change(request):
            return web.json_response({"error": "missing or wrong credentials for a change"},
                                     status=403)
        try:
            number = int(request.match_info["number"])
        except ValueError:
            return web.json_response({"error": "no such order"}, status=404)
        target: object = None
        reason: object = None
        with contextlib.suppress(ValueError):
            data = await request.json()
            if isinstance(data, dict):
                target, reason = data.get("status"), data.get("reason")
        return await change_status(number, target, reason)

    app.router.add_get("/kitchen", show_page)
    app.router.add_get("/kitchen/static/{name}", asset)
    app.router.add_get("/kitchen/events", events)
    app.router.add_get("/kitchen/tickets", tickets)
    app.router.add_post("/kitchen/orders/{number}/status", set_status)
