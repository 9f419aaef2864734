"""Voice notes, photos, stickers and other messages we cannot read get a short, useful answer."""

from __future__ import annotations

import json

import pytest

from bot.conversation import (
    Context,
    ConversationState,
    CustomerText,
    Decision,
    OtherMessage,
    decide,
)
from bot.processing import event_from_message
from bot.replies import ButtonsReply, TextReply
from bot.whatsapp_payloads import parse_notification
from parsers.models import ParsedLine, ParseResult
from tests.paths import WHATSAPP_FIXTURES
from tests.unit.shop import ScriptedParser, small_catalog

ORDER = "2 chicken shawarma and a large pepsi"


def context() -> Context:
    return Context(small_catalog(), ScriptedParser({ORDER: ParseResult(lines=(
        ParsedLine("chicken-shawarma", 2, "regular"), ParsedLine("pepsi", 1, "large")))}),
        "Alex Buyer")


def with_cart() -> ConversationState:
    return decide(ConversationState(), CustomerText(ORDER), context()).state


def only_text(decision: Decision) -> str:
    [reply] = decision.replies
    assert isinstance(reply, TextReply)
    return reply.body


@pytest.mark.parametrize(("kind", "says"), [
    ("audio", "voice notes"), ("image", "photos"), ("video", "videos"),
    ("document", "documents"), ("sticker", "sticker"), ("contacts", "contact card"),
    ("unsupported", "that kind of message"), ("unknown", "that kind of message"),
    ("poll_creation", "that kind of message"),
])
def test_with_no_open_order_the_reply_says_what_and_how_to_order(kind: str, says: str) -> None:
    decision = decide(ConversationState(), OtherMessage(kind), context())
    body = only_text(decision)
    assert says in body
    assert "type what you'd like" in body and ORDER in body
    assert decision.state == ConversationState()


def test_with_an_open_order_the_reply_shows_where_we_were() -> None:
    cart = with_cart()
    decision = decide(cart, OtherMessage("audio"), context())
    assert "voice notes" in decision.replies[0].body
    summary = decision.replies[-1]
    assert isinstance(summary, ButtonsReply) and "Total: $17.50" in summary.body
    assert decision.state == cart  # nothing about the order changed


def test_a_reaction_is_only_answered_while_an_order_is_open() -> None:
    assert decide(ConversationState(), OtherMessage("reaction"), context()).replies == ()
    cart = with_cart()
    decision = decide(cart, OtherMessage("reaction"), context())
    assert "tap a button" in decision.replies[0].body
    assert isinstance(decision.replies[-1], ButtonsReply)


def test_system_notices_get_no_answer() -> None:
    assert decide(ConversationState(), OtherMessage("system"), context()).replies == ()


@pytest.mark.parametrize(("fixture", "says"), [
    ("audio_voice.json", "voice notes"), ("image.json", "photos"),
    ("document.json", "documents"), ("sticker.json", "sticker"),
    ("contacts.json", "contact card"), ("unsupported.json", "that kind of message"),
])
def test_sample_webhooks_of_each_type_get_their_answer(fixture: str, says: str) -> None:
    body = json.loads((WHATSAPP_FIXTURES / fixture).read_text())
    [inbound] = parse_notification(body).messages
    decision = decide(ConversationState(), event_from_message(inbound.message), context())
    assert says in only_text(decision)
