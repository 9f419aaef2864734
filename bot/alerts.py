"""Owner alerts about delivery problems: what to say, to whom, under which idempotency key. Pure.

The dispatcher (bot.dispatcher) queues these as ordinary outbox rows in the owner's WhatsApp lane,
in the same transaction that records the failure, so an alert is neither lost nor sent twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot import texts
from bot.replies import TextReply, graph_payload
from bot.window import Template, template_payload

ALERT_KEY_PREFIX = "alert:"
MAX_REASON = 300  # Graph errors carry trace ids and details; the owner needs the gist
# An alert carried by the alert template's one body variable: Meta caps a template body at 1024
# characters, and the variable sits inside the template's own words.
MAX_TEMPLATE_ALERT = 700
_ORDER_KEY = re.compile(r"^order-(\d+)")


@dataclass(frozen=True)
class OwnerAlert:
    key: str  # the outbox idempotency key: one alert per dead row, or per auth incident
    lane: str
    payload: dict[str, Any]


def owner_number(configured: str | None) -> str | None:
    """shop.owner_whatsapp as a wa_id (digits), or None when the catalog names no owner."""
    number = (configured or "").strip().lstrip("+")
    return number or None


def is_alert_row(key: str, lane: str, owner: str | None) -> bool:
    """Rows to the owner are never alerted about: the alert would take the same failing road
    (and alerting about a failed alert would loop)."""
    return key.startswith(ALERT_KEY_PREFIX) or (owner is not None and lane == f"wa:{owner}")


def dead_letter_alert(
    owner: str, row_id: int, *, kind: str, key: str, payload: dict[str, Any], reason: str
) -> OwnerAlert | None:
    """The owner's alert for a row that became a dead letter; None when not worth one."""
    if payload.get("status") == "read":
        return None  # a lost read receipt (blue ticks) changes nothing for anyone
    values = {"row": row_id, "reason": _short(reason), "adapter": kind}
    order = _order_number(key, payload)
    if order is not None:
        body = texts.text("alert_dead_order", order=order, **values)
    elif kind == "whatsapp" and isinstance(payload.get("to"), str):
        body = texts.text("alert_dead_message", to="+" + payload["to"].lstrip("+"), **values)
    elif kind == "whatsapp" and isinstance(payload.get("recipient"), str):
        body = texts.text("alert_dead_message", to=payload["recipient"], **values)
    else:
        body = texts.text("alert_dead_other", **values)
    return _alert(owner, f"{ALERT_KEY_PREFIX}dead:{row_id}", body)


def auth_alert(owner: str, kind: str, incident: str, reason: str) -> OwnerAlert:
    """The one alert for a credentials incident (a rejected token, a wrong signing secret)."""
    if kind == "whatsapp":
        body = texts.text("alert_whatsapp_token")
    else:
        body = texts.text("alert_adapter_auth", adapter=kind, reason=_short(reason))
    return _alert(owner, f"{ALERT_KEY_PREFIX}auth:{incident}", body)


def _alert(owner: str, key: str, body: str) -> OwnerAlert:
    return OwnerAlert(key=key[:255], lane=f"wa:{owner}",
                      payload=graph_payload(TextReply(body), owner))


def _order_number(key: str, payload: dict[str, Any]) -> str | None:
    order = payload.get("order")
    if str(payload.get("schema", "")).startswith("orderbot.ticket") and isinstance(order, dict):
        number = order.get("display_number")
        if isinstance(number, str) and number:
            return number
    match = _ORDER_KEY.match(key)
    return f"#{match.group(1)}" if match else None


def _short(reason: str) -> str:
    return one_line(reason, MAX_REASON)


def alert_as_template(payload: dict[str, Any], owner: str | None,
                      template: Template | None) -> dict[str, Any] | None:
    """The same alert as the configured alert template, whose one body variable ({{1}})
    carries the text: what WhatsApp still takes once the owner's 24-hour window has closed
    (a plain text then fails with 131047). None for anything but a text to the owner, or
    without a template (ORDERBOT_ALERT_TEMPLATE)."""
    if (template is None or owner is None or payload.get("type") != "text"
            or not to_owner(payload, owner)):
        return None
    body = payload.get("text", {}).get("body") if isinstance(payload.get("text"), dict) else None
    if not isinstance(body, str) or not body.strip():
        return None
    message = template_payload(template, owner)
    message["template"]["components"] = [
        {"type": "body", "parameters": [{"type": "text", "text": one_line(body)}]}]
    return message


def to_owner(payload: dict[str, Any], owner: str | None) -> bool:
    """Whether this /messages body is addressed to the owner (a wa_id, as owner_number)."""
    return owner is not None and str(payload.get("to", "")).lstrip("+") == owner


def one_line(text: str, limit: int = MAX_TEMPLATE_ALERT) -> str:
    """Text on one line, as an alert's reason and a template variable need it (Meta refuses
    new-lines and tabs in the latter): each run of whitespace becomes one space; cut to
    `limit` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"
