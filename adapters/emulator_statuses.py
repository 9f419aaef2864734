"""Status webhooks from the Cloud API emulator (adapters/whatsapp_emulator.py).

Given a webhook URL and the app secret (`orderbot emulator --webhook-url`), every accepted
message — one accepted after a stall too — is reported like Meta does: a signed `statuses`
notification "sent", then one "delivered", echoing the message's biz_opaque_callback_data,
each POSTed again until the server answers 200 (or WEBHOOK_GIVE_UP_SECONDS pass).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import aiohttp

from bot.security import sign

if TYPE_CHECKING:  # adapters.whatsapp_emulator imports this module
    from adapters.whatsapp_emulator import LogEntry

# The emulator's one logger, whichever of its modules logs.
log = logging.getLogger("adapters.whatsapp_emulator")

# Status webhooks: the WhatsApp Business Account and display number the notifications name
# (the emulator has no account; the bot reads neither), and how long a status the server does
# not acknowledge is posted again (Meta keeps trying for days; a local run needs minutes).
EMULATOR_WABA_ID: Final = "1000000000000001"
SIGNATURE_HEADER: Final = "X-Hub-Signature-256"
EMULATOR_DISPLAY_NUMBER: Final = "15550001111"
WEBHOOK_GIVE_UP_SECONDS: Final = 300.0
_WEBHOOK_TIMEOUT: Final = aiohttp.ClientTimeout(total=10)


@dataclass(frozen=True)
class StatusWebhook:
    """Where the emulator reports statuses, and the app secret it signs them with."""

    url: str
    app_secret: str
    give_up_after: float = WEBHOOK_GIVE_UP_SECONDS


class StatusReporting:
    """The status-webhook half of EmulatorState: posts each accepted message's statuses in
    the background and counts what the server acknowledged.

    `_closing` is shared with EmulatorState, whose close() sets it at shutdown: from then on
    no new report starts and no unacknowledged status is posted again.
    """

    def __init__(self) -> None:
        self.status_webhook: StatusWebhook | None = None  # None: no status webhooks
        self.statuses_posted: Counter[str] = Counter()  # acknowledged, by status
        self.statuses_dropped = 0  # given up after WEBHOOK_GIVE_UP_SECONDS
        self.reporting: set[asyncio.Task[None]] = set()  # status webhooks being posted
        self._http: aiohttp.ClientSession | None = None
        self._closing = False

    def report_statuses(self, entry: LogEntry, phone_number_id: str) -> None:
        """Post the message's "sent" then "delivered" status webhooks, in the background."""
        hook = self.status_webhook
        if hook is None or self._closing:
            return
        task = asyncio.get_running_loop().create_task(
            self._report(hook, entry, phone_number_id), name="emulator-status-webhook")
        self.reporting.add(task)
        task.add_done_callback(self.reporting.discard)

    async def statuses_reported(self, timeout: float = 10.0) -> None:
        """Until every status webhook so far was acknowledged or given up (tests)."""
        async with asyncio.timeout(timeout):
            while self.reporting:
                await asyncio.wait(set(self.reporting))

    async def _report(self, hook: StatusWebhook, entry: LogEntry, phone_number_id: str
                      ) -> None:
        for status in ("sent", "delivered"):
            body = json.dumps(status_notification(entry, status, phone_number_id)).encode()
            if not await self._post_until_acknowledged(hook, body):
                self.statuses_dropped += 1
                log.warning("emulator: gave up posting the %s status of message #%d", status,
                            entry["seq"])
                return
            self.statuses_posted[status] += 1

    async def _post_until_acknowledged(self, hook: StatusWebhook, body: bytes) -> bool:
        """POST as Meta does: again, with growing pauses, until the server answers 200."""
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=_WEBHOOK_TIMEOUT)
        headers = {"Content-Type": "application/json",
                   SIGNATURE_HEADER: sign(body, hook.app_secret)}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + hook.give_up_after
        pause = 0.2
        while not self._closing:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with self._http.post(hook.url, data=body, headers=headers) as response:
                    await response.read()
                    if response.status == 200:
                        return True
            if loop.time() + pause > deadline:
                break
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)
        return False

    async def _cancel_reports(self) -> None:
        """Cancel the status webhooks in flight and close the webhook client."""
        for task in list(self.reporting):
            task.cancel()
        await asyncio.gather(*self.reporting, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
            self._http = None


def status_notification(entry: LogEntry, status: str, phone_number_id: str) -> dict[str, Any]:
    """A `statuses` webhook for one accepted message, shaped like Meta's
    (shared/fixtures/whatsapp/status_sent.json), echoing its biz_opaque_callback_data."""
    payload = entry["payload"]
    by_user_id = payload.get("to") is None
    item: dict[str, Any] = {"id": entry["id"], "status": status,
                            "timestamp": str(int(time.time()))}
    contact: dict[str, Any] = {"profile": {"name": ""}}
    if by_user_id:
        item["recipient_user_id"] = contact["user_id"] = entry["to"]
    else:
        item["recipient_id"] = contact["wa_id"] = entry["to"]
    opaque = payload.get("biz_opaque_callback_data")
    if isinstance(opaque, str):
        item["biz_opaque_callback_data"] = opaque
    item["pricing"] = {"billable": False, "pricing_model": "PMP",
                       "type": "free_customer_service", "category": "service"}
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": EMULATOR_DISPLAY_NUMBER,
                     "phone_number_id": phone_number_id},
        "contacts": [contact],
        "statuses": [item],
    }
    return {"object": "whatsapp_business_account",
            "entry": [{"id": EMULATOR_WABA_ID,
                       "changes": [{"value": value, "field": "messages"}]}]}
