"""Reading webhook bodies: every sample shape, batches, username users, statuses."""

from __future__ import annotations

import json

import pytest

from bot.whatsapp_payloads import PayloadError, message_text, parse_notification, reply_id
from tests.paths import WHATSAPP_FIXTURES, whatsapp_fixture


def load(name: str) -> object:
    return json.loads(whatsapp_fixture(name))


@pytest.mark.parametrize("path", sorted(WHATSAPP_FIXTURES.glob("*.json")), ids=lambda p: p.name)
def test_every_sample_payload_is_read_without_skipping(path: object) -> None:
    notification = parse_notification(json.loads(WHATSAPP_FIXTURES.joinpath(
        getattr(path, "name", "")).read_bytes()))
    assert notification.skipped == 0
    for message in notification.messages:
        assert message.wamid.startswith("wamid.")
        assert message.customer
        assert message.timestamp > 1_700_000_000


def test_text_message_fields() -> None:
    [message] = parse_notification(load("text_message.json")).messages
    assert message.customer == "15550002222"
    assert message.name == "Alex Buyer"
    assert message.phone_number_id == "2000000000000002"
    assert message.type == "text"
    assert message_text(message.message) == "Hi! I'd like to order 2 large pizzas for delivery."


def test_batch_yields_both_messages_in_order() -> None:
    messages = parse_notification(load("batch_two_messages.json")).messages
    assert [m.type for m in messages] == ["text", "location"]
    assert messages[0].timestamp < messages[1].timestamp


def test_username_user_is_keyed_on_bsuid() -> None:
    [message] = parse_notification(load("text_username_bsuid.json")).messages
    assert message.customer == "US.1000000000000000002"


def test_button_and_list_replies_give_their_ids() -> None:
    [button] = parse_notification(load("interactive_button_reply.json")).messages
    [row] = parse_notification(load("interactive_list_reply.json")).messages
    [quick] = parse_notification(load("button_quick_reply.json")).messages
    assert reply_id(button.message) == "confirm_order:ORD-1001"
    assert reply_id(row.message) == "size:large"
    assert reply_id(quick.message) == "reorder:ORD-0999"


def test_statuses_are_read_with_their_error_code() -> None:
    [failed] = parse_notification(load("status_failed.json")).statuses
    assert (failed.status, failed.error_code) == ("failed", 131047)
    [sent] = parse_notification(load("status_sent.json")).statuses
    assert sent.status == "sent" and sent.error_code is None


def test_value_level_errors_carry_nothing_to_process() -> None:
    notification = parse_notification(load("errors_value_level.json"))
    assert notification.messages == [] and notification.statuses == []


@pytest.mark.parametrize("body", [None, [], {}, {"object": "page", "entry": []},
                                  {"object": "whatsapp_business_account", "entry": "x"}])
def test_wrong_envelopes_are_refused(body: object) -> None:
    with pytest.raises(PayloadError):
        parse_notification(body)


def test_broken_items_are_skipped_and_counted_not_fatal() -> None:
    body = {"object": "whatsapp_business_account", "entry": [
        {"changes": [{"field": "messages", "value": {"messages": [
            {"type": "text"},  # no id, no sender
            {"id": "wamid.ok", "from": "1555", "type": "text", "text": {"body": "hi"},
             "timestamp": "1767261600"},
        ], "statuses": [{"status": "sent"}]}}]},
        "garbage", {"changes": "nope"},
    ]}
    notification = parse_notification(body)
    assert [m.wamid for m in notification.messages] == ["wamid.ok"]
    assert notification.skipped == 2


def test_other_fields_are_ignored() -> None:
    body = {"object": "whatsapp_business_account", "entry": [{"changes": [
        {"field": "message_template_status_update", "value": {"event": "APPROVED"}}]}]}
    assert parse_notification(body).messages == []
