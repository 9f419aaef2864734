"""The WhatsApp webhook endpoint: verify, authenticate, store, acknowledge, then process.

Discipline (Meta retries anything but a 200 for days): a bad signature is 401/403; a body we
cannot read at all is 400; once the messages are stored (deduplicated on wamid, committed by the
inbox writer in bot.ingest together with whatever other requests arrived meanwhile) we answer
200 and the processor takes over in the background. If storing fails we answer 503 so Meta
delivers again: nothing acknowledged is ever lost.
"""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.web_log import AccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from bot.ingest import Ingest, IngestUnavailable
from bot.metrics import METRICS_KEY
from bot.security import signature_matches, verify_token_matches
from bot.state import APP_STATE
from bot.whatsapp_payloads import PayloadError, parse_notification, read_json

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
MAX_BODY_BYTES = 3 * 1024 * 1024  # Meta's documented maximum webhook payload
INGEST_KEY: web.AppKey[Ingest] = web.AppKey("orderbot_ingest", Ingest)


async def verify_subscription(request: web.Request) -> web.Response:
    """Meta's GET handshake: echo hub.challenge when the verify token matches."""
    state = request.app[APP_STATE]
    query = request.query
    if query.get("hub.mode") != "subscribe" or not verify_token_matches(
        query.get("hub.verify_token"), state.settings.secret("verify_token")
    ):
        log.warning("webhook verification refused (wrong mode or verify token)")
        return web.Response(status=403, text="verification failed")
    return web.Response(text=query.get("hub.challenge", ""), content_type="text/plain")


async def receive_notification(request: web.Request) -> web.Response:
    state = request.app[APP_STATE]
    body = await request.read()
    signature = request.headers.get(SIGNATURE_HEADER)
    if not signature:
        return _error(401, "missing X-Hub-Signature-256")
    if not signature_matches(body, signature, state.settings.secret("app_secret")):
        log.warning("webhook with a bad signature refused")
        return _error(403, "bad signature")
    try:
        notification = parse_notification(read_json(body))
    except PayloadError as error:
        log.warning("unreadable webhook body refused: %s", error)
        return _error(400, "body is not a WhatsApp notification")
    try:
        stored = await request.app[INGEST_KEY].store(notification.messages,
                                                     notification.statuses)
    except IngestUnavailable:
        return _error(503, "temporarily unavailable")  # logged by the writer, once per batch
    if stored.duplicates:
        log.info("ignored %d duplicate message(s)", stored.duplicates)
    metrics = request.app[METRICS_KEY]
    metrics.received((message.type for message in stored.new), stored.duplicates)
    if stored.limited:
        metrics.rate_limited.inc(len(stored.limited))
    return web.json_response({"received": len(stored.new), "duplicates": stored.duplicates})


class QuietAccessLogger(AccessLogger):
    """aiohttp's access log without the line for a webhook answered 200. At Meta's rates that
    is a line per message, costing more CPU than storing the message (a logging.Filter would
    drop it only after aiohttp has formatted it); orderbot_messages_received counts them, and
    refusals (401/403/400/503) are still logged. Servers take it with
    `access_log_class=QuietAccessLogger` (bot.cli, bot.workers)."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        if response.status == 200 and request.method == "POST" and request.path == "/webhook":
            return
        super().log(request, response, time)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)
