"""WhatsApp's 24-hour customer service window: when the bot may still write on its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.whatsapp_limits import validate_outbound
from bot.replies import ButtonsReply, TextReply
from bot.window import Template, is_open, opened_at, plan

NOON = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
REMINDER = (TextReply("Still there?"), ButtonsReply("Your order", (("confirm:1", "Confirm"),)))


def test_the_window_counts_from_the_message_timestamp_when_it_is_believable() -> None:
    sent = int((NOON - timedelta(minutes=3)).timestamp())
    assert opened_at(sent, NOON) == NOON - timedelta(minutes=3)


def test_a_timestamp_ahead_of_our_clock_or_missing_counts_from_when_we_handled_it() -> None:
    assert opened_at(int((NOON + timedelta(hours=5)).timestamp()), NOON) == NOON
    assert opened_at(0, NOON) == NOON


def test_open_for_24_hours_then_closed() -> None:
    assert is_open(NOON, NOON + timedelta(hours=23, minutes=59))
    assert not is_open(NOON, NOON + timedelta(hours=24))
    assert not is_open(None, NOON)  # we never heard from them: nothing but a template


def test_inside_the_window_the_messages_go_out_as_they_are() -> None:
    outgoing = plan(REMINDER, "15550002222", NOON, NOON + timedelta(hours=2),
                    Template("order_reminder"))
    assert outgoing.delivery == "session"
    assert [p["type"] for p in outgoing.payloads] == ["text", "interactive"]
    assert outgoing.payloads[0]["to"] == "+15550002222"


def test_after_the_window_one_template_replaces_the_messages() -> None:
    outgoing = plan(REMINDER, "15550002222", NOON, NOON + timedelta(hours=30),
                    Template("order_reminder", "en_US"))
    assert outgoing.delivery == "template"
    [payload] = outgoing.payloads
    assert payload["type"] == "template"
    assert payload["template"] == {"name": "order_reminder", "language": {"code": "en_US"}}
    assert validate_outbound(payload) == []  # what the emulator (and Meta's shape) accepts


def test_after_the_window_without_a_template_nothing_is_sent() -> None:
    outgoing = plan(REMINDER, "15550002222", NOON, NOON + timedelta(days=2), None)
    assert outgoing.delivery == "dropped"
    assert outgoing.payloads == ()


def test_nothing_to_say_sends_nothing_even_with_a_template() -> None:
    outgoing = plan((), "15550002222", NOON, NOON + timedelta(days=2), Template("x"))
    assert outgoing.payloads == ()
