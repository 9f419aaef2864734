"""Outbound WhatsApp Cloud API client: validated sends of text, buttons, lists and read receipts."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

import aiohttp

from adapters.whatsapp_errors import (
    NO_CODE,
    GraphAPIError,
    GraphOutcomeUnknownError,
    GraphTransportError,
    OutboundLimitError,
    error_from_response,
)
from adapters.whatsapp_limits import validate_outbound

__all__ = ["OutboundLimitError", "WhatsAppCloudClient"]

log = logging.getLogger(__name__)

# How long a request waits for Graph's answer (clients built without a timeout). A module value
# so that tests can shorten it; a send that outlives it may still be accepted by Meta.
SEND_TIMEOUT_SECONDS = 10.0

Button = tuple[str, str]
Row = tuple[str, str, str | None]
Section = tuple[str | None, Sequence[Row]]


class WhatsAppCloudClient:
    """Sends messages from one business number through `{base_url}/{phone_number_id}/messages`.

    `base_url` includes the Graph version, e.g. "https://graph.facebook.com/v23.0" (or the local
    emulator's URL). The session is owned by the caller.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        phone_number_id: str,
        access_token: str,
        timeout: float | None = None,
    ) -> None:
        self._session = session
        self._url = f"{base_url.rstrip('/')}/{phone_number_id}/messages"
        self._phone_number_id = phone_number_id
        # Kept only inside the header value; never logged, never put into an error or repr.
        self._token = access_token
        self._headers = {"Authorization": f"Bearer {access_token}"}
        self._timeout = aiohttp.ClientTimeout(
            total=SEND_TIMEOUT_SECONDS if timeout is None else timeout)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self._url!r})"

    async def send_text(self, to: str, body: str, reply_to: str | None = None) -> str:
        """Send a text message; returns the wamid Meta assigned to it."""
        payload = _envelope(to, "text", {"preview_url": False, "body": body}, reply_to)
        return _wamid(await self.send_payload(payload))

    async def send_buttons(
        self,
        to: str,
        body: str,
        buttons: Sequence[Button],
        *,
        header: str | None = None,
        footer: str | None = None,
        reply_to: str | None = None,
    ) -> str:
        """Send up to three reply buttons given as (id, title); returns the wamid."""
        interactive: dict[str, Any] = {
            "type": "button",
            "body": {"text": body},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": button_id, "title": title}}
                    for button_id, title in buttons
                ]
            },
        }
        _add_header_footer(interactive, header, footer)
        return _wamid(await self.send_payload(_envelope(to, "interactive", interactive, reply_to)))

    async def send_list(
        self,
        to: str,
        body: str,
        button_label: str,
        sections: Sequence[Section],
        *,
        header: str | None = None,
        footer: str | None = None,
        reply_to: str | None = None,
    ) -> str:
        """Send a list of (section title, rows of (id, title, description)); returns the wamid."""
        interactive: dict[str, Any] = {
            "type": "list",
            "body": {"text": body},
            "action": {"button": button_label, "sections": [_section(s) for s in sections]},
        }
        _add_header_footer(interactive, header, footer)
        return _wamid(await self.send_payload(_envelope(to, "interactive", interactive, reply_to)))

    async def mark_read(self, message_id: str, *, typing: bool = False) -> None:
        """Mark an inbound message (and earlier ones) read; optionally show "typing…" for ≤25 s."""
        payload: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": message_id,
        }
        if typing:
            payload["typing_indicator"] = {"type": "text"}
        response = await self.send_payload(payload)
        if response.get("success") is not True:
            raise GraphAPIError(NO_CODE, f"mark-as-read not confirmed: {response!r}", 200)

    async def send_payload(self, payload: dict[str, Any], *, callback_data: str | None = None
                           ) -> dict[str, Any]:
        """Validate and POST a raw /messages body; returns Graph's JSON answer.

        `callback_data` goes into a message's `biz_opaque_callback_data`, which Meta echoes in
        that message's status webhooks (not into read receipts, which have none): the outbox
        gives its row key, so a send whose answer was lost can still be recognised as sent.

        Raises OutboundLimitError before any network I/O when the body breaks a documented
        limit, GraphAPIError subclasses for Graph error answers, GraphTransportError when no
        answer arrived (GraphOutcomeUnknownError when the request may have been accepted).
        """
        payload = dict(payload)
        if callback_data is not None and "status" not in payload:
            payload["biz_opaque_callback_data"] = callback_data
        to = payload.get("to")
        # Without '+' Meta prefixes the *business* number's country code: misdelivery risk.
        if isinstance(to, str) and not to.startswith("+"):
            payload["to"] = f"+{to}"
        problems = validate_outbound(payload)
        if problems:
            log.warning("refusing outbound %s message: %s", payload.get("type"), problems)
            raise OutboundLimitError(problems)
        try:
            status, body = await self._post(payload)
        except GraphOutcomeUnknownError as unknown:
            if "status" not in payload:
                raise
            # A read receipt sent twice shows nothing twice: plain retry, no wait for proof.
            raise GraphTransportError(str(unknown)) from None
        if status >= 300 or not isinstance(body, dict):
            error = error_from_response(status, body, secrets=(self._token,))
            log.warning(
                "graph error on %s message: code=%s http=%s retryable=%s fbtrace_id=%s",
                payload.get("type", "read"),
                error.code,
                status,
                error.retryable,
                error.fbtrace_id,
            )
            raise error
        return body

    async def _post(self, payload: dict[str, Any]) -> tuple[int, Any]:
        try:
            async with self._session.post(
                self._url, json=payload, headers=self._headers, timeout=self._timeout
            ) as response:
                raw = await response.read()
                status = response.status
        except (aiohttp.ConnectionTimeoutError, aiohttp.ClientConnectorError) as exc:
            # No connection, so nothing was written: Meta cannot have the message.
            # `from None`: some aiohttp errors carry request_info, which holds our headers.
            raise GraphTransportError(
                f"cannot reach {self._url}: {type(exc).__name__}: {exc}"
            ) from None
        except TimeoutError:
            # Connected, so the request may have been written and accepted: outcome unknown.
            raise GraphOutcomeUnknownError(
                f"no answer within {self._timeout.total}s from {self._url}"
            ) from None
        except aiohttp.ClientError as exc:
            # Dropped after connecting (server disconnected, reset mid-answer): unknown too.
            raise GraphOutcomeUnknownError(
                f"no answer from {self._url}: {type(exc).__name__}: {exc}"
            ) from None
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode("utf-8", errors="replace")


def _envelope(to: str, kind: str, content: Any, reply_to: str | None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": kind,
        kind: content,
    }
    if reply_to is not None:
        payload["context"] = {"message_id": reply_to}
    return payload


def _add_header_footer(interactive: dict[str, Any], header: str | None, footer: str | None) -> None:
    if header is not None:
        interactive["header"] = {"type": "text", "text": header}
    if footer is not None:
        interactive["footer"] = {"text": footer}


def _section(section: Section) -> dict[str, Any]:
    title, rows = section
    built: dict[str, Any] = {"rows": [_row(row) for row in rows]}
    if title:
        built["title"] = title
    return built


def _row(row: Row) -> dict[str, Any]:
    row_id, title, description = row
    built = {"id": row_id, "title": title}
    if description is not None:
        built["description"] = description
    return built


def _wamid(response: dict[str, Any]) -> str:
    messages = response.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        wamid = messages[0].get("id")
        if isinstance(wamid, str) and wamid:
            return wamid
    # Accepted but unidentifiable: not retryable, a resend could duplicate the message.
    raise GraphAPIError(NO_CODE, f"send accepted without a message id: {response!r}", 200)
