"""Typed WhatsApp Cloud API errors: Graph error codes mapped to retry and alert decisions."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Final

from adapters.delivery import DeliveryError, FailureKind

# Used when the response carried no Graph error code at all (proxy HTML page, empty body, ...).
NO_CODE: Final = -1

# Codes that no retry will fix and that need the shop owner (permissions, banned or deleted
# number, billing); see shared/whatsapp-cloud-api.md §7.
OWNER_ALERT_CODES: Final = frozenset({3, 10, 33, 368, 131031, 131042, *range(200, 300)})

_SNIPPET_LEN: Final = 200
_REDACTED: Final = "[REDACTED]"


class WhatsAppError(Exception):
    """Base of every error raised while talking to the Cloud API."""

    _retryable: ClassVar[bool] = False

    @property
    def retryable(self) -> bool:
        """Whether sending the same request again later may succeed."""
        return self._retryable


class GraphTransportError(WhatsAppError):
    """The request never got a Graph answer (timeout, refused or dropped connection)."""

    _retryable: ClassVar[bool] = True


class GraphOutcomeUnknownError(GraphTransportError):
    """The request was (or may have been) written but no answer came: Meta may have accepted
    the message. Resending at once could make the customer see it twice (bot.dispatcher)."""


class GraphAPIError(WhatsAppError):
    """Graph answered with an error envelope (or an error status with an unreadable body)."""

    def __init__(
        self,
        code: int,
        message: str,
        http_status: int,
        fbtrace_id: str | None = None,
        details: str | None = None,
    ) -> None:
        self.code = code
        self.message = message
        self.http_status = http_status
        self.fbtrace_id = fbtrace_id
        self.details = details
        super().__init__(self._describe())

    @property
    def needs_owner_alert(self) -> bool:
        """Whether a person must act (new token, permissions, account or billing problem)."""
        return self.code in OWNER_ALERT_CODES

    def _describe(self) -> str:
        # Graph messages usually start with "(#<code>)" already; don't print it twice.
        prefix = "" if self.message.startswith(f"(#{self.code})") else f"(#{self.code}) "
        text = f"{prefix}{self.message} [HTTP {self.http_status}]"
        if self.details:
            text += f": {self.details}"
        if self.fbtrace_id:
            text += f" (fbtrace_id={self.fbtrace_id})"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, "
            f"http_status={self.http_status!r}, fbtrace_id={self.fbtrace_id!r}, "
            f"details={self.details!r})"
        )


class RateLimitedError(GraphAPIError):
    """App, number or per-recipient pair rate limit hit; back off and retry."""

    _retryable: ClassVar[bool] = True


class AuthError(GraphAPIError):
    """Access token invalid or expired; nothing will send until the owner replaces it."""

    @property
    def needs_owner_alert(self) -> bool:
        return True


class ReEngagementError(GraphAPIError):
    """Outside the 24 h customer service window: only an approved template may be sent."""


class InvalidRequestError(GraphAPIError):
    """Meta rejected the request itself (parameters, template); a retry fails the same way."""


class RecipientError(GraphAPIError):
    """The recipient cannot receive messages from this number (not on WhatsApp, not allowed)."""


class TemporaryError(GraphAPIError):
    """Meta-side failure (generic error, service unavailable, 5xx); retry a few times."""

    _retryable: ClassVar[bool] = True


class OutboundLimitError(ValueError):
    """A message broke the documented shapes or limits and was not sent."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("outbound message not sent: " + "; ".join(self.problems))


def _codes(cls: type[GraphAPIError], codes: Iterable[int]) -> dict[int, type[GraphAPIError]]:
    return dict.fromkeys(codes, cls)


_CLASS_BY_CODE: Final[dict[int, type[GraphAPIError]]] = {
    **_codes(RateLimitedError, (4, 80007, 130429, 131056, 131057)),
    **_codes(AuthError, (0, 190)),
    **_codes(ReEngagementError, (131047,)),
    **_codes(InvalidRequestError, (100, 131008, 131009, 131051, *range(132000, 132017))),
    **_codes(RecipientError, (131026, 131030, 131021, 133010)),
    **_codes(TemporaryError, (1, 2, 131000, 131016)),
}


def error_class_for(code: int, http_status: int) -> type[GraphAPIError]:
    """Pick the error class: the Graph code decides; the HTTP status only for unknown codes."""
    if code in _CLASS_BY_CODE:
        return _CLASS_BY_CODE[code]
    if http_status == 401:
        return AuthError
    if http_status == 429:
        return RateLimitedError
    if http_status >= 500:
        return TemporaryError
    return GraphAPIError


# Graph's catch-all "something went wrong": sometimes passing, sometimes a message Meta will
# never take, so only a few attempts (adapters.delivery.DEFAULT_BUDGETS).
FLAKY_CODES: Final = frozenset({131000})


def delivery_kind(error: WhatsAppError | OutboundLimitError) -> FailureKind:
    """How the outbox treats a failed send: retry, retry a little, give up, or alert the owner."""
    if isinstance(error, AuthError):
        return FailureKind.AUTH
    if isinstance(error, GraphAPIError) and error.code in FLAKY_CODES:
        return FailureKind.FLAKY
    if isinstance(error, WhatsAppError) and error.retryable:
        return FailureKind.TRANSIENT
    return FailureKind.PERMANENT


def delivery_error(error: WhatsAppError | OutboundLimitError, *, credential: str = ""
                   ) -> DeliveryError:
    """The outbox's view of a failed send. An auth failure names its incident by a hash of the
    access token, so the owner hears once about a rejected token (and again about a new one)."""
    kind = delivery_kind(error)
    incident = None
    if kind is FailureKind.AUTH:
        digest = hashlib.sha256(credential.encode()).hexdigest()[:16]
        incident = f"whatsapp-token:{digest}"
    message = str(error)
    if isinstance(error, OutboundLimitError):
        message = f"message breaks WhatsApp limits: {error}"
    return DeliveryError(message, kind=kind, incident=incident,
                         uncertain=isinstance(error, GraphOutcomeUnknownError))


def error_from_response(
    http_status: int, body: Any, *, secrets: Iterable[str] = ()
) -> GraphAPIError:
    """Build the typed error for a failed Graph call; tolerates any body, never raises.

    `secrets` are scrubbed from every string taken from the body, in case a proxy or a
    misbehaving server echoes the request (and with it the access token) back.
    """
    secret_list = [s for s in secrets if s]
    body = _decode(body)
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = _int_or(error.get("code"), NO_CODE)
        message = error.get("message")
        message = message if isinstance(message, str) and message else "Graph API error"
        fbtrace = error.get("fbtrace_id")
        fbtrace_id = fbtrace if isinstance(fbtrace, str) else None
        details = _details(error)
    else:
        code, fbtrace_id, details = NO_CODE, None, None
        message = f"unexpected error response: {_snippet(body, secret_list)}"
    cls = error_class_for(code, http_status)
    return cls(
        code=code,
        message=_redact(message, secret_list),
        http_status=http_status,
        fbtrace_id=fbtrace_id,
        details=_redact(details, secret_list) if details is not None else None,
    )


def _decode(body: Any) -> Any:
    if isinstance(body, bytes | bytearray):
        body = bytes(body).decode("utf-8", errors="replace")
    if isinstance(body, str):
        try:
            return json.loads(body)
        except ValueError:
            return body
    return body


def _details(error: dict[str, Any]) -> str | None:
    data = error.get("error_data")
    if isinstance(data, dict) and isinstance(data.get("details"), str):
        return str(data["details"])
    if isinstance(data, str) and data:
        return data
    user_msg = error.get("error_user_msg")
    return user_msg if isinstance(user_msg, str) and user_msg else None


def _int_or(value: Any, default: int) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdecimal():
        return int(value)
    return default


def _snippet(body: Any, secrets: list[str]) -> str:
    # Redact before truncating so that a cut can't leave a partial secret behind.
    text = " ".join(_redact(body if isinstance(body, str) else repr(body), secrets).split())
    if not text:
        return "(empty)"
    return text if len(text) <= _SNIPPET_LEN else text[:_SNIPPET_LEN] + "…"


def _redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, _REDACTED)
    return text
