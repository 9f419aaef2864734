"""Local Cloud API emulator: the /messages endpoint plus `/_emulator/` inspection and control.

Lets a shop owner try the bot without a Meta account, and tests drive the real client against
documented limits rather than a permissive mock. Localhost only: `/_emulator/` has no auth.

Faults (adapters/emulator_faults.py): `/_emulator/fail` queues the next N failures exactly
(tests); `/_emulator/chaos` makes any send fail or stall at random, from a seed
(bench/chaos.py). A stalled send is still accepted when the stall ends, as Meta may accept a
message whose answer the client never saw.

Status webhooks (adapters/emulator_statuses.py): given a webhook URL and the app secret
(`orderbot emulator --webhook-url`), every accepted message — one accepted after a stall too —
is reported like Meta does: a signed `statuses` notification "sent", then one "delivered",
echoing the message's biz_opaque_callback_data, each POSTed again until the server answers 200.

Here: EmulatorState (what was accepted, the rules in force), the app, its handlers and
run_emulator; the rule classes and StatusWebhook are re-exported for code importing them here.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import logging
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, TypedDict

from aiohttp import web

from adapters.emulator_faults import (
    ChaosRule,
    FailureRule,
    StallRule,
    chaos_error,
    graph_error,
    parse_chaos,
    parse_failure,
    take_failure,
    take_stall,
)
from adapters.emulator_statuses import StatusReporting, StatusWebhook
from adapters.whatsapp_limits import validate_outbound
from bot.privacy import mask

__all__ = [
    "EMULATOR_CONFIG",
    "EMULATOR_STATE",
    "MAX_WAIT_SECONDS",
    "ChaosRule",
    "EmulatorConfig",
    "EmulatorState",
    "FailureRule",
    "LogEntry",
    "ReadReceipt",
    "StallRule",
    "StatusWebhook",
    "create_emulator_app",
    "run_emulator",
]

log = logging.getLogger(__name__)

MAX_WAIT_SECONDS: Final = 30.0
_UNSUPPORTED_POST: Final = (
    "Unsupported post request. Object with ID '{}' does not exist, cannot be loaded due to missing"
    " permissions, or does not support this operation. Please read the Graph API documentation"
    " at https://developers.facebook.com/docs/graph-api"
)


class LogEntry(TypedDict):
    """One accepted outbound message."""

    seq: int
    id: str
    to: str
    payload: dict[str, Any]
    received_at: str


class ReadReceipt(TypedDict):
    """One accepted mark-as-read request."""

    message_id: str
    typing: bool
    received_at: str



@dataclass(frozen=True)
class EmulatorConfig:
    """What the emulator insists on; None disables the check."""

    access_token: str | None
    phone_number_id: str | None


class EmulatorState(StatusReporting):
    """Everything the emulator accepted, readable from tests in-process. Status-webhook
    reporting (status_webhook, statuses_posted, report_statuses(), ...) comes from
    StatusReporting."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[ReadReceipt] = []
        self.failures: list[FailureRule] = []
        self.stalls: list[StallRule] = []
        self.chaos: ChaosRule | None = None
        self.stalling: set[asyncio.Future[web.Response]] = set()  # sends held by chaos
        # Every hit on /messages, accepted or not: proves whether a request reached us at all.
        self.request_count = 0
        self._messages: dict[str, list[LogEntry]] = {}
        self._seq = 0
        self._changed = asyncio.Condition()

    @property
    def last_seq(self) -> int:
        """The seq of the newest message ever accepted (0 before the first)."""
        return self._seq

    def messages_to(self, wa_id: str) -> list[LogEntry]:
        """Messages accepted for one recipient, oldest first; the '+' is optional."""
        return list(self._messages.get(wa_id.lstrip("+"), []))

    def select(self, to: str | None, after: int) -> list[LogEntry]:
        """Messages with seq > after, for one recipient or all, in seq order."""
        if to is not None:
            pool = self._messages.get(to.lstrip("+"), [])
        else:
            pool = [entry for entries in self._messages.values() for entry in entries]
        return sorted((e for e in pool if e["seq"] > after), key=lambda e: e["seq"])

    async def record_message(self, wa_id: str, payload: dict[str, Any]) -> LogEntry:
        async with self._changed:
            self._seq += 1
            entry = LogEntry(
                seq=self._seq,
                id=_new_wamid(wa_id, self._seq),
                to=wa_id,
                payload=payload,
                received_at=_now(),
            )
            self._messages.setdefault(wa_id, []).append(entry)
            self._changed.notify_all()
        return entry

    def record_read(self, payload: dict[str, Any]) -> ReadReceipt:
        receipt = ReadReceipt(
            message_id=str(payload["message_id"]),
            typing="typing_indicator" in payload,
            received_at=_now(),
        )
        self.reads.append(receipt)
        return receipt

    async def wait_for_messages(self, to: str | None, after: int, timeout: float) -> list[LogEntry]:
        """Long-poll: return as soon as a matching message exists, or [] after `timeout` s."""
        found = self.select(to, after)
        if found or timeout <= 0:
            return found
        async with self._changed:
            try:
                async with asyncio.timeout(timeout):
                    await self._changed.wait_for(
                        lambda: self._closing or bool(self.select(to, after))
                    )
            except TimeoutError:
                pass
        return self.select(to, after)

    async def close(self) -> None:
        """Release every pending long-poll so that shutdown doesn't wait up to 30 s; status
        webhooks (StatusReporting reads `_closing` too) are not posted again."""
        async with self._changed:
            self._closing = True
            self._changed.notify_all()

    async def shutdown(self) -> None:
        """Stop posting statuses and close the webhook client."""
        await self.close()
        await self._cancel_reports()

    def reset(self) -> None:
        """Forget messages, reads and failure and chaos rules. seq keeps counting so pollers
        stay valid."""
        self._messages.clear()
        self.reads.clear()
        self.failures.clear()
        self.stalls.clear()
        self.chaos = None
        self.request_count = 0


EMULATOR_STATE: Final = web.AppKey("emulator_state", EmulatorState)
EMULATOR_CONFIG: Final = web.AppKey("emulator_config", EmulatorConfig)


def create_emulator_app(
    access_token: str | None = None, phone_number_id: str | None = None,
    status_webhook: StatusWebhook | None = None,
) -> web.Application:
    """Build the emulator app; pass a token / phone number id to have them enforced, and a
    status webhook to have every accepted message's statuses posted to a server."""
    app = web.Application()
    app[EMULATOR_STATE] = EmulatorState()
    app[EMULATOR_STATE].status_webhook = status_webhook
    app[EMULATOR_CONFIG] = EmulatorConfig(access_token, phone_number_id)
    app.router.add_post(r"/{version:v\d+\.\d+}/{phone_number_id}/messages", _handle_messages)
    app.router.add_get("/_emulator/messages", _handle_list_messages)
    app.router.add_get("/_emulator/reads", _handle_list_reads)
    app.router.add_post("/_emulator/fail", _handle_fail)
    app.router.add_post("/_emulator/chaos", _handle_chaos)
    app.router.add_get("/_emulator/chaos", _handle_chaos_report)
    app.router.add_get("/_emulator/statuses", _handle_status_report)
    app.router.add_post("/_emulator/reset", _handle_reset)
    app.on_shutdown.append(_wake_pollers)
    app.on_cleanup.append(_stop_reporting)
    return app


async def run_emulator(
    host: str, port: int, access_token: str | None, phone_number_id: str | None,
    status_webhook: StatusWebhook | None = None,
) -> web.AppRunner:
    """Start the emulator on host:port; the caller stops it with `await runner.cleanup()`."""
    runner = web.AppRunner(create_emulator_app(access_token, phone_number_id, status_webhook),
                           shutdown_timeout=5.0)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("WhatsApp Cloud API emulator listening on %s", runner.addresses)
    return runner


async def _handle_messages(request: web.Request) -> web.Response:
    state = request.app[EMULATOR_STATE]
    config = request.app[EMULATOR_CONFIG]
    state.request_count += 1
    if config.access_token is not None and not _authorized(request, config.access_token):
        log.warning("emulator: rejected request with a missing or wrong access token")
        return graph_error(401, 190, "Invalid OAuth access token - Cannot parse access token")
    phone_number_id = request.match_info["phone_number_id"]
    if config.phone_number_id is not None and phone_number_id != config.phone_number_id:
        message = _UNSUPPORTED_POST.format(phone_number_id)
        return graph_error(400, 100, message, error_subcode=33)
    try:
        payload: Any = json.loads(await request.text())
    except ValueError:
        return graph_error(400, 100, "(#100) Invalid parameter", "request body is not JSON")
    problems = validate_outbound(payload)
    if problems:
        log.warning("emulator: rejected invalid payload: %s", problems)
        return graph_error(400, 100, "(#100) Invalid parameter", "; ".join(problems))
    stall = take_stall(state.stalls, payload)
    if state.chaos is not None and stall is None:
        fault = state.chaos.draw()
        if isinstance(fault, int):
            log.info("emulator: chaos failure %s", fault)
            return chaos_error(fault)
        stall = fault
    if stall is not None:
        # Shielded: the message is accepted when the stall ends even if the client gave up
        # meanwhile (and its server cancels the handler), as Meta may accept a message
        # whose answer never reached the sender.
        stalled = asyncio.ensure_future(_accept_after(state, payload, stall, phone_number_id))
        state.stalling.add(stalled)
        stalled.add_done_callback(state.stalling.discard)
        return await asyncio.shield(stalled)
    return await _accept(state, payload, phone_number_id)


async def _accept_after(state: EmulatorState, payload: dict[str, Any], stall: float,
                        phone_number_id: str) -> web.Response:
    await asyncio.sleep(stall)
    return await _accept(state, payload, phone_number_id, stalled=True)


async def _accept(state: EmulatorState, payload: dict[str, Any], phone_number_id: str, *,
                  stalled: bool = False) -> web.Response:
    if "status" in payload:
        rule = take_failure(state.failures, "", read_receipt=True)
        if rule is not None:
            log.info("emulator: injected failure %s for a read receipt", rule.code)
            return graph_error(rule.http_status, rule.code, rule.message, rule.details)
        state.record_read(payload)
        return web.json_response({"success": True})
    # `to` wins when both are given (shared/whatsapp-cloud-api.md §6); a BSUID-only send is
    # recorded under the BSUID.
    by_user_id = payload.get("to") is None
    wa_id = str(payload["recipient"] if by_user_id else payload["to"]).lstrip("+")
    rule = take_failure(state.failures, wa_id)
    if rule is not None:
        log.info("emulator: injected failure %s for %s", rule.code, mask(wa_id))
        return graph_error(rule.http_status, rule.code, rule.message, rule.details)
    entry = await state.record_message(wa_id, payload)
    if stalled and state.chaos is not None:
        state.chaos.stalled_ids.append(entry["id"])
    state.report_statuses(entry, phone_number_id)
    log.info("emulator: accepted %s message #%d to %s", payload["type"], entry["seq"],
             mask(wa_id))
    return web.json_response(
        {
            "messaging_product": "whatsapp",
            "contacts": [{"input": payload["recipient"], "user_id": wa_id} if by_user_id
                         else {"input": payload["to"], "wa_id": wa_id}],
            "messages": [{"id": entry["id"]}],
        }
    )


async def _handle_list_messages(request: web.Request) -> web.Response:
    state = request.app[EMULATOR_STATE]
    to = request.query.get("to") or None
    try:
        after = int(request.query.get("after", "0"))
        wait = float(request.query.get("wait", "0"))
    except ValueError:
        return _control_error("'after' must be an integer and 'wait' a number of seconds")
    if not math.isfinite(wait):
        return _control_error("'wait' must be a finite number of seconds")
    wait = min(max(wait, 0.0), MAX_WAIT_SECONDS)
    entries = await state.wait_for_messages(to, after, wait)
    return web.json_response({"messages": entries, "last_seq": state.last_seq})


async def _handle_list_reads(request: web.Request) -> web.Response:
    return web.json_response({"reads": request.app[EMULATOR_STATE].reads})


async def _handle_fail(request: web.Request) -> web.Response:
    try:
        rule = parse_failure(json.loads(await request.text()))
    except ValueError as exc:
        return _control_error(str(exc))
    request.app[EMULATOR_STATE].failures.append(rule)
    log.info(
        "emulator: next %d send(s) to %s fail with %d", rule.times,
        mask(rule.to) if rule.to else "anyone", rule.code
    )
    return web.json_response({"queued": len(request.app[EMULATOR_STATE].failures)})


async def _handle_chaos(request: web.Request) -> web.Response:
    """Replace the chaos rule; zero rates (or an empty body) turn chaos off."""
    try:
        rule = parse_chaos(json.loads(await request.text() or "{}"))
    except ValueError as exc:
        return _control_error(str(exc))
    state = request.app[EMULATOR_STATE]
    state.chaos = rule if rule.fail_rate or rule.stall_rate else None
    log.info("emulator: chaos %s", "off" if state.chaos is None else rule)
    return web.json_response({"chaos": rule.report() if state.chaos else None})


async def _handle_chaos_report(request: web.Request) -> web.Response:
    """The chaos rule in force with what it injected so far ({"chaos": null} when off)."""
    chaos = request.app[EMULATOR_STATE].chaos
    return web.json_response({"chaos": chaos.report() if chaos else None})


async def _handle_status_report(request: web.Request) -> web.Response:
    """Status webhooks: where they go, how many the server acknowledged, dropped, in flight."""
    state = request.app[EMULATOR_STATE]
    hook = state.status_webhook
    return web.json_response({"webhook_url": hook.url if hook else None,
                              "acknowledged": dict(state.statuses_posted),
                              "dropped": state.statuses_dropped,
                              "in_flight": len(state.reporting)})


async def _handle_reset(request: web.Request) -> web.Response:
    request.app[EMULATOR_STATE].reset()
    return web.json_response({"ok": True})


async def _wake_pollers(app: web.Application) -> None:
    await app[EMULATOR_STATE].close()


async def _stop_reporting(app: web.Application) -> None:
    await app[EMULATOR_STATE].shutdown()


def _authorized(request: web.Request, token: str) -> bool:
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def _control_error(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


def _new_wamid(wa_id: str, seq: int) -> str:
    # Same layout as real wamids (base64 of a small binary record holding the recipient and a
    # message key); seq in the key makes every id unique for the life of the process.
    key = f"{seq:08X}{secrets.token_hex(5).upper()}".encode()
    number = wa_id.encode()
    raw = b"\x1c\x18" + bytes([len(number)]) + number + b"\x15\x02\x00\x11\x18"
    return "wamid." + base64.b64encode(raw + bytes([len(key)]) + key + b"\x00").decode()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
