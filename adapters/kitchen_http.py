"""Delivers kitchen tickets to any HTTP endpoint as signed JSON (the HTTP ticket adapter)."""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp

from adapters.delivery import DeliveryError
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
                if response.status >= 500 or response.status == 429:
                    raise DeliveryError(f"kitchen answered HTTP {response.status}", retryable=True)
                if response.status >= 400:
                    raise DeliveryError(f"kitchen refused the ticket: HTTP {response.status}",
                                        retryable=False)
                return f"HTTP {response.status}"
        except (aiohttp.ClientError, TimeoutError) as error:
            raise DeliveryError(f"kitchen unreachable: {type(error).__name__}",
                                retryable=True) from error
