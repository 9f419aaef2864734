"""Delivers kitchen tickets to any HTTP endpoint as signed JSON (the HTTP ticket adapter)."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import aiohttp

from adapters.db import utcnow
from adapters.delivery import DeliveryError, FailureKind, parse_retry_after
from bot.security import sign

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Orderbot-Signature"


class HttpKitchen:
    """POSTs the ticket with `X-Orderbot-Signature: sha256=<HMAC>` and an `Idempotency-Key`."""

    def __init__(
        self, session: aiohttp.ClientSession, url: str, secret: str, timeout: float = 10.0
    ) -> None:
        self._session = session
        self._url = url
        self._secret = secret
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def deliver(self, ticket: dict[str, Any], idempotency_key: str) -> str:
        body = json.dumps(ticket, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(body, self._secret),
            "Idempotency-Key": idempotency_key,
        }
        try:
            async with self._session.post(
                self._url, data=body, headers=headers, timeout=self._timeout
            ) as response:
                if response.status >= 400:
                    raise _refusal(response.status, response.headers.get("Retry-After"),
                                   self._url, self._secret)
                return f"HTTP {response.status}"
        except (aiohttp.ClientError, TimeoutError) as error:
            raise DeliveryError(f"kitchen unreachable: {type(error).__name__}",
                                retryable=True) from error


def _refusal(status: int, retry_after: str | None, url: str, secret: str) -> DeliveryError:
    """Classify an error answer (adapters.delivery has the retry budget of each kind)."""
    if status >= 500 or status in (408, 429):  # the receiver is busy or down: later works
        return DeliveryError(f"kitchen answered HTTP {status}", kind=FailureKind.TRANSIENT,
                             retry_after=parse_retry_after(retry_after, utcnow()))
    if status in (401, 403):  # wrong secret: every ticket fails alike until someone fixes it
        digest = hashlib.sha256(f"{url}\n{secret}".encode()).hexdigest()[:16]
        return DeliveryError(f"kitchen refused our signature: HTTP {status}",
                             kind=FailureKind.AUTH, incident=f"kitchen-auth:{digest}")
    return DeliveryError(f"kitchen refused the ticket: HTTP {status}",
                         kind=FailureKind.PERMANENT)
