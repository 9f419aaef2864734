"""HMAC-SHA256 body signatures: checking Meta's X-Hub-Signature-256, signing our own webhooks."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_PREFIX = "sha256="


def sign(body: bytes, secret: str) -> str:
    """'sha256=<lowercase hex HMAC-SHA256 of the exact body bytes>'."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def signature_matches(body: bytes, header: str | None, secret: str) -> bool:
    """Constant-time check of a 'sha256=…' header against the body; False for any malformed one."""
    if not header or not secret or not header.startswith(SIGNATURE_PREFIX):
        return False
    expected = sign(body, secret)
    return hmac.compare_digest(expected.encode(), header.strip().lower().encode())


def timestamped_body(timestamp: str, body: bytes) -> bytes:
    """What a timestamped signature covers: '<unix seconds>.' + body (as Stripe does), so an
    old request cannot be replayed with a fresh timestamp."""
    return timestamp.encode() + b"." + body


def timestamp_is_fresh(timestamp: str, now: float, max_age: float) -> bool:
    """A unix-seconds header within `max_age` of now, either way (clocks drift a little)."""
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    return abs(now - int(timestamp)) <= max_age


def verify_token_matches(given: str | None, expected: str) -> bool:
    """Meta's GET handshake token, compared in constant time."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())
