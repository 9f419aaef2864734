"""Reading webhook bodies: every sample shape, batches, username users, statuses."""

from __future__ import annotations

import json

import pytest

from bot.conversation import Event, LocationPin, NativeCart, NativeCartItem, OtherMessage
from bot.processing import event_from_message
from bot.whatsapp_payloads import (
    MAX_CART_QUANTITY,
    PayloadError,
    message_text,
    parse_notification,
    reply_id,
)
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


# ----------------------------------------------------------------- native carts and location pins


def order_event(order: object) -> Event:
    return event_from_message({"id": "wamid.x", "from": "1555", "type": "order",
                               "order": order})


def cart_item(**fields: object) -> dict[str, object]:
    return {"product_retailer_id": "SKU-1", "quantity": 1, "item_price": 7.99,
            "currency": "USD", **fields}


def test_sample_cart_becomes_a_native_cart_event() -> None:
    [message] = parse_notification(load("order_cart.json")).messages
    assert event_from_message(message.message) == NativeCart(
        items=(NativeCartItem("SKU-PIZZA-MARG-L", 2, "12.5"),
               NativeCartItem("SKU-COLA-330", 3, "1.75")),
        text="No onions on the pizzas please")


def test_sample_location_becomes_a_pin_event() -> None:
    [message] = parse_notification(load("location.json")).messages
    assert event_from_message(message.message) == LocationPin(
        40.7128, -74.006, "Home", "100 Example Ave, Springfield")


@pytest.mark.parametrize("order", [None, "cart", [], {}, {"product_items": "SKU-1"},
                                   {"product_items": {"0": {}}}])
def test_an_order_without_a_readable_item_list_is_an_other_message(order: object) -> None:
    assert order_event(order) == OtherMessage("order")


def test_an_empty_cart_is_still_a_cart() -> None:
    assert order_event({"product_items": [], "text": 5}) == NativeCart((), "")


@pytest.mark.parametrize("item", [
    "SKU-1", None, cart_item(product_retailer_id=None), cart_item(product_retailer_id="  "),
    cart_item(product_retailer_id=["SKU-1"]), cart_item(quantity=0), cart_item(quantity=-2),
    cart_item(quantity=2.5), cart_item(quantity=True), cart_item(quantity="two"),
    cart_item(quantity=None), cart_item(quantity="1e3"),
], ids=repr)
def test_an_unreadable_item_is_left_out_and_the_rest_kept(item: object) -> None:
    event = order_event({"product_items": [item, cart_item(product_retailer_id="SKU-2")]})
    assert isinstance(event, NativeCart)
    assert [i.retailer_id for i in event.items] == ["SKU-2"]


@pytest.mark.parametrize(("fields", "expected"), [
    ({"quantity": "3"}, NativeCartItem("SKU-1", 3, "7.99")),  # Meta's old SDK: strings
    ({"quantity": 2.0, "item_price": "12.50"}, NativeCartItem("SKU-1", 2, "12.50")),
    ({"product_retailer_id": 12345}, NativeCartItem("12345", 1, "7.99")),
    ({"product_retailer_id": " SKU-1 "}, NativeCartItem("SKU-1", 1, "7.99")),
    ({"quantity": 10**12}, NativeCartItem("SKU-1", MAX_CART_QUANTITY, "7.99")),
    ({"item_price": "abc"}, NativeCartItem("SKU-1", 1, "")),
    ({"item_price": "NaN"}, NativeCartItem("SKU-1", 1, "")),
    ({"item_price": -1}, NativeCartItem("SKU-1", 1, "")),
    ({"item_price": None}, NativeCartItem("SKU-1", 1, "")),
], ids=repr)
def test_cart_item_fields_are_read_leniently_but_safely(
    fields: dict[str, object], expected: NativeCartItem
) -> None:
    event = order_event({"product_items": [cart_item(**fields)]})
    assert isinstance(event, NativeCart)
    assert event.items == (expected,)


def location_event(location: object) -> Event:
    return event_from_message({"id": "wamid.x", "from": "1555", "type": "location",
                               "location": location})


def test_a_current_location_pin_has_no_name_or_address() -> None:
    assert location_event({"latitude": 51.5, "longitude": "-0.12"}) == LocationPin(51.5, -0.12)
    assert location_event({"latitude": 1, "longitude": 2, "name": ["x"], "address": 3}) == (
        LocationPin(1.0, 2.0))


@pytest.mark.parametrize("location", [
    None, "51.5,-0.12", {}, {"latitude": 51.5}, {"latitude": "north", "longitude": 1},
    {"latitude": 91, "longitude": 0}, {"latitude": 0, "longitude": -181},
    {"latitude": True, "longitude": 0}, {"latitude": "nan", "longitude": 0},
    {"latitude": 0, "longitude": float("inf")},
], ids=repr)
def test_a_pin_without_usable_coordinates_is_an_other_message(location: object) -> None:
    assert location_event(location) == OtherMessage("location")
