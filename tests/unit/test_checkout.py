"""Summary, confirmation, fulfilment, order note, shop rules and stock, through `decide`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bot.cart import price_cart
from bot.checkout import read_address, read_fulfilment, read_note
from bot.conversation import (
    ButtonTap,
    Context,
    ConversationState,
    CustomerText,
    Decision,
    Event,
    LocationPin,
    decide,
)
from bot.replies import ButtonsReply, Reply, TextReply
from bot.tickets import build_ticket, render_ticket_text
from catalog.catalog import Catalog
from catalog.models import CatalogFile
from parsers.models import ParsedLine, ParseResult, Unresolved

ORDER = "2 chicken shawarma and a large pepsi"
SCRIPT = {
    ORDER: ParseResult(lines=(ParsedLine("chicken-shawarma", 2, "regular"),
                              ParsedLine("pepsi", 1, "large"))),
    "8 kunafa": ParseResult(lines=(ParsedLine("kunafa", 8, None),)),
    "a pepsi": ParseResult(lines=(ParsedLine("pepsi", 1, "small"),)),
    "baklava": ParseResult(unresolved=(Unresolved("baklava", "unavailable", ("baklava",)),)),
}
# Wednesday 25 Nov 2026: noon, and 23:30 (closing time has passed), in New York.
NOON = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
LATE = datetime(2026, 11, 26, 4, 30, tzinfo=UTC)


class Parser:
    def parse(self, text: str) -> ParseResult:
        return SCRIPT.get(text, ParseResult())


def catalog(**shop: Any) -> Catalog:
    return Catalog(CatalogFile.model_validate({
        "shop": {"name": "Test Grill", "currency": "USD", "timezone": "America/New_York",
                 **shop},
        "products": [
            {"id": "chicken-shawarma", "name": "Chicken Shawarma", "category": "Wraps",
             "price": "7.50",
             "variants": [{"id": "regular", "name": "Regular", "default": True},
                          {"id": "large", "name": "Large", "price": "9.50"}]},
            {"id": "pepsi", "name": "Pepsi", "category": "Drinks", "price": "1.50",
             "variants": [{"id": "small", "name": "Small", "default": True},
                          {"id": "large", "name": "Large", "price": "2.50"}]},
            {"id": "baklava", "name": "Baklava", "category": "Desserts", "price": "3.00",
             "available": False},
            {"id": "kunafa", "name": "Kunafa", "category": "Desserts", "price": "4.00",
             "stock": 6},
            {"id": "rice-pudding", "name": "Rice Pudding", "category": "Desserts",
             "price": "3.50"},
        ],
    }))


BOTH: dict[str, Any] = {"fulfillment": ["pickup", "delivery"]}


def ctx(*, now: datetime = NOON, stock: Mapping[str, int] | None = None, **shop: Any
        ) -> Context:
    return Context(catalog(**shop), Parser(), "Alex Buyer", now=now, stock=stock or {})


def run(context: Context, *events: Event | str, state: ConversationState | None = None
        ) -> Decision:
    decision = Decision(state or ConversationState())
    for event in events:
        decision = decide(decision.state, CustomerText(event) if isinstance(event, str)
                          else event, context)
    return decision


def last(decision: Decision) -> Reply:
    return decision.replies[-1]


def buttons(reply: Reply) -> list[str]:
    assert isinstance(reply, ButtonsReply)
    return [title for _, title in reply.buttons]


def tap(decision: Decision, title: str) -> ButtonTap:
    reply = last(decision)
    assert isinstance(reply, ButtonsReply)
    return ButtonTap(next(bid for bid, t in reply.buttons if t == title))


def text_of(decision: Decision) -> str:
    return "\n".join(r.body for r in decision.replies)


def test_summary_has_confirm_edit_cancel_carrying_the_revision() -> None:
    shown = run(ctx(), ORDER)
    summary = last(shown)
    assert buttons(summary) == ["Confirm", "Edit", "Cancel"]
    assert isinstance(summary, ButtonsReply)
    revision = shown.state.revision
    assert [bid for bid, _ in summary.buttons] == [
        f"confirm:{revision}", f"edit:{revision}", f"cancel:{revision}"]
    assert "2 × Chicken Shawarma (Regular) — $15.00" in summary.body
    assert "Total: $17.50" in summary.body


def test_edit_explains_how_to_change_and_keeps_the_order_open() -> None:
    context = ctx()
    shown = run(context, ORDER)
    edit = decide(shown.state, tap(shown, "Edit"), context)
    [help_text] = edit.replies
    assert isinstance(help_text, TextReply)
    assert "make it 3" in help_text.body and "remove the pepsi" in help_text.body
    assert "no, large" in help_text.body
    assert "1 × Pepsi (Large) — $2.50" in help_text.body  # the current lines
    assert edit.place_order is None and edit.state.cart == shown.state.cart
    placed = decide(edit.state, CustomerText("confirm"), context)  # still open: typed confirm
    assert placed.place_order is not None and placed.details.fulfilment == "pickup"


def test_one_fulfilment_mode_places_straight_after_confirm() -> None:
    context = ctx()
    shown = run(context, ORDER)
    placed = decide(shown.state, tap(shown, "Confirm"), context)
    assert placed.place_order is not None
    assert placed.place_order.total == Decimal("17.50")
    assert placed.details.fulfilment == "pickup"
    assert placed.state.cart == () and placed.state.stage == "idle"


def test_two_modes_ask_pickup_or_delivery_and_pickup_places_the_order() -> None:
    context = ctx(**BOTH)
    shown = run(context, ORDER)
    asked = decide(shown.state, tap(shown, "Confirm"), context)
    assert asked.place_order is None and asked.state.stage == "checkout"
    assert buttons(last(asked)) == ["Pickup", "Delivery"]
    by_button = decide(asked.state, tap(asked, "Pickup"), context)
    assert by_button.place_order is not None and by_button.details.fulfilment == "pickup"
    typed = decide(asked.state, CustomerText("I'll collect it"), context)
    assert typed.place_order is not None and typed.details.fulfilment == "pickup"
    again = decide(asked.state, tap(shown, "Confirm"), context)  # the summary tapped twice
    assert again.place_order is None and buttons(last(again)) == ["Pickup", "Delivery"]


def test_delivery_with_a_typed_address() -> None:
    context = ctx(**BOTH)
    asked = run(context, ORDER, "yes", "delivery please")
    assert asked.place_order is None
    assert "location" in text_of(asked) and "address" in text_of(asked)
    short = decide(asked.state, CustomerText("home"), context)
    assert short.place_order is None and "full delivery address" in text_of(short)
    placed = decide(asked.state, CustomerText("Deliver to 12 Cedar Street, apt 4"), context)
    assert placed.place_order is not None
    assert placed.details.fulfilment == "delivery"
    assert placed.details.address == "12 Cedar Street, apt 4"
    assert placed.details.location is None


def test_delivery_with_a_location_pin_and_a_pin_out_of_context() -> None:
    context = ctx(**BOTH)
    pin = LocationPin(40.7128, -74.006, name="Home", address="100 Example Ave")
    early = run(context, ORDER, pin)
    assert early.place_order is None and early.state.location is None
    assert "Thanks for the location" in text_of(early)
    assert buttons(last(early)) == ["Confirm", "Edit", "Cancel"]  # where we were
    asked = run(context, ORDER, "ok")
    delivered = decide(decide(asked.state, tap(asked, "Delivery"), context).state, pin, context)
    assert delivered.place_order is not None
    assert delivered.details.location == (40.7128, -74.006)
    assert delivered.details.address == "Home, 100 Example Ave"
    # A pin sent instead of tapping a button says "delivery, here".
    direct = decide(asked.state, pin, context)
    assert direct.place_order is not None and direct.details.fulfilment == "delivery"


def test_a_pickup_only_shop_says_no_address_is_needed() -> None:
    reply = run(ctx(), LocationPin(1.0, 2.0))
    assert "only do pickup" in text_of(reply) and reply.place_order is None


def test_a_delivery_only_shop_asks_the_address_right_after_confirm() -> None:
    context = ctx(fulfillment=["delivery"])
    asked = run(context, ORDER, "yes")
    assert asked.place_order is None and "address" in text_of(asked)
    placed = decide(asked.state, CustomerText("5 Harbour Road"), context)
    assert placed.place_order is not None and placed.details.address == "5 Harbour Road"


def test_a_note_is_kept_shown_and_placed_at_any_step() -> None:
    context = ctx(**BOTH)
    noted = run(context, ORDER, "note: ring the bell twice")
    assert "Noted" in noted.replies[0].body
    summary = last(noted)
    assert isinstance(summary, ButtonsReply) and "Note: “ring the bell twice”" in summary.body
    at_checkout = run(context, "yes", "add a note that it's a birthday", state=noted.state)
    assert at_checkout.state.note == "it's a birthday"
    assert buttons(last(at_checkout)) == ["Pickup", "Delivery"]  # still waiting for the choice
    placed = run(context, "pickup", state=at_checkout.state)
    assert placed.details.note == "it's a birthday"
    cancelled = run(context, ORDER, "note: x y", "cancel")
    assert cancelled.state.note == ""


def test_closed_shop_says_when_it_opens_and_takes_no_order() -> None:
    hours: dict[str, Any] = {"hours": {"wed": "11:00-23:00", "thu": "11:00-23:00"}}
    context = ctx(now=LATE, **hours)
    shown = run(context, ORDER)
    summary = last(shown)
    assert isinstance(summary, ButtonsReply)
    assert "closed right now — we open again tomorrow at 11:00" in summary.body
    refused = decide(shown.state, tap(shown, "Confirm"), context)
    assert refused.place_order is None
    assert "We open again tomorrow at 11:00" in text_of(refused)
    assert refused.state.cart == shown.state.cart  # kept for when we open
    opened = decide(refused.state, CustomerText("yes"), ctx(now=NOON, **hours))
    assert opened.place_order is not None


def test_preorders_are_taken_while_closed_and_prepared_at_opening() -> None:
    context = ctx(now=LATE, preorders=True, hours={"thu": "11:00-23:00"})
    shown = run(context, ORDER)
    assert "prepare your order when we open tomorrow at 11:00" in last(shown).body
    placed = decide(shown.state, tap(shown, "Confirm"), context)
    assert placed.place_order is not None
    assert placed.details.prepare_at == datetime(2026, 11, 26, 16, 0, tzinfo=UTC)
    open_now = run(ctx(now=NOON, preorders=True), ORDER, "yes")
    assert open_now.details.prepare_at is None


def test_minimum_order_is_shown_and_blocks_confirm_until_met() -> None:
    context = ctx(minimum_order="20.00")
    shown = run(context, ORDER)
    assert "minimum order is $20.00: please add $2.50 more" in last(shown).body
    refused = decide(shown.state, tap(shown, "Confirm"), context)
    assert refused.place_order is None
    assert text_of(refused) == (
        "Sorry, the minimum order is $20.00. Add $2.50 more and I can place it.")
    topped_up = run(context, "a pepsi", "a pepsi", "yes", state=refused.state)
    assert topped_up.place_order is not None
    assert topped_up.place_order.total == Decimal("20.50")


def test_unavailable_item_offers_others_from_its_category() -> None:
    reply = run(ctx(), "baklava")
    assert text_of(reply) == (
        "Sorry, Baklava is not available today — we have Kunafa or Rice Pudding.")
    sold_out = run(ctx(stock={"kunafa": 0}), "baklava")
    assert text_of(sold_out) == "Sorry, Baklava is not available today — we have Rice Pudding."


def test_too_many_asks_to_make_it_what_is_left() -> None:
    context = ctx()
    asked = run(context, "8 kunafa")
    question = last(asked)
    assert isinstance(question, ButtonsReply)
    assert "We only have 6 left of Kunafa — shall I make it 6?" in question.body
    assert buttons(question) == ["Yes, make it 6", "Remove it"]
    assert asked.place_order is None
    trimmed = decide(asked.state, CustomerText("yes"), context)
    assert trimmed.place_order is None  # "yes" answers the question; it places nothing
    assert [(line.product, line.quantity) for line in trimmed.state.cart] == [("kunafa", 6)]
    assert "6 × Kunafa — $24.00" in last(trimmed).body
    by_button = decide(asked.state, tap(asked, "Yes, make it 6"), context)
    assert by_button.state.cart == trimmed.state.cart
    four = decide(asked.state, CustomerText("make it 4"), context)
    assert [line.quantity for line in four.state.cart] == [4]
    removed = decide(asked.state, CustomerText("no"), context)
    assert removed.state.cart == () and "empty" in text_of(removed)


def test_live_stock_overrides_the_catalog_and_sold_out_lines_leave_the_cart() -> None:
    live = ctx(stock={"kunafa": 2})
    asked = run(live, "8 kunafa")
    assert buttons(last(asked)) == ["Yes, make it 2", "Remove it"]
    gone = run(ctx(stock={"pepsi": 0}), ORDER)
    assert [line.product for line in gone.state.cart] == ["chicken-shawarma"]
    assert "Pepsi is sold out" in text_of(gone)


def test_stock_that_ran_out_after_the_summary_stops_the_confirm() -> None:
    shown = run(ctx(), ORDER)
    later = ctx(stock={"pepsi": 0})
    refused = decide(shown.state, tap(shown, "Confirm"), later)
    assert refused.place_order is None
    assert "Pepsi is sold out" in text_of(refused)
    assert "Total: $15.00" in last(refused).body  # a fresh summary without it


def test_checkout_state_survives_a_json_round_trip() -> None:
    context = ctx(**BOTH)
    state = run(context, ORDER, "note: gate code 1234", "yes", "delivery").state
    assert state.stage == "checkout" and state.fulfilment == "delivery"
    assert ConversationState.from_json(state.to_json()) == state


def test_reading_notes_modes_and_addresses() -> None:
    assert read_note("Note: no onions please") == "no onions please"
    assert read_note("add a note - leave it at the door") == "leave it at the door"
    assert read_note("note") is None and read_note("2 notebooks") is None
    assert read_fulfilment(["pick", "up"]) == "pickup"
    assert read_fulfilment(["deliver", "it"]) == "delivery"
    assert read_fulfilment(["pickup", "or", "delivery"]) is None
    assert read_address("my address is 7 Rue Cler, Paris") == "7 Rue Cler, Paris"
    assert read_address("yes") is None


def delivery_ticket(**details: Any) -> dict[str, Any]:
    shop = catalog()
    priced = run(ctx(), ORDER).state.cart
    return build_ticket(1002, NOON, price_cart(priced, shop), shop, "Alex Buyer", **details)


def test_the_ticket_carries_delivery_pin_note_and_preorder_time() -> None:
    ticket = delivery_ticket(fulfillment="delivery", address="Home, 100 Example Ave",
                             location=(40.7128, -74.006), note="ring twice",
                             prepare_at=datetime(2026, 11, 26, 16, 0, tzinfo=UTC))
    assert ticket["order"]["fulfillment"] == "delivery"
    assert ticket["delivery"] == {
        "address": "Home, 100 Example Ave", "latitude": 40.7128, "longitude": -74.006,
        "maps_url": "https://www.google.com/maps/search/?api=1&query=40.7128,-74.006"}
    assert ticket["note"] == "ring twice"
    assert ticket["prepare_at"] == "2026-11-26T11:00:00-05:00"  # the shop's local time
    text = render_ticket_text(ticket, width=32)
    assert "DELIVERY · Alex" in text
    assert "TO: Home, 100 Example Ave" in text and "PIN: 40.71280,-74.00600" in text
    assert "NOTE: ring twice" in text and "PRE-ORDER 2026-11-26 11:00" in text
    assert max(len(line) for line in text.splitlines()) <= 32


def test_a_pickup_ticket_has_no_delivery_and_a_long_note_wraps() -> None:
    note = "please cut the shawarma in halves and pack the sauces separately, thank you"
    ticket = delivery_ticket(note=note)
    assert ticket["order"]["fulfillment"] == "pickup"
    assert ticket["delivery"] is None and ticket["prepare_at"] is None
    text = render_ticket_text(ticket, width=32)
    assert "TO:" not in text and "PIN:" not in text
    assert max(len(line) for line in text.splitlines()) <= 32
    assert "separately, thank you" in " ".join(text.split())


def test_at_checkout_yes_or_the_same_choice_asks_again_and_an_edit_reopens_the_order() -> None:
    context = ctx(**BOTH)
    asked = run(context, ORDER, "yes")
    again = decide(asked.state, CustomerText("yes"), context)
    assert again.place_order is None and buttons(last(again)) == ["Pickup", "Delivery"]
    delivery = run(context, "delivery", state=asked.state)
    repeated = decide(delivery.state, CustomerText("delivery"), context)
    assert repeated.place_order is None and repeated.state.address == ""
    assert "Where should we deliver it" in text_of(repeated)
    switched = decide(delivery.state, CustomerText("pickup instead"), context)
    assert switched.place_order is not None and switched.details.fulfilment == "pickup"
    edited = decide(delivery.state, CustomerText("make it 3"), context)
    assert edited.place_order is None and edited.state.stage == "confirming"
    assert "3 × Pepsi (Large)" in last(edited).body



def test_a_typed_number_answers_pickup_or_delivery() -> None:
    context = ctx(**BOTH)
    for typed, mode in (("1", "pickup"), ("2", "delivery"), ("second", "delivery")):
        asked = run(context, ORDER, "confirm")
        assert buttons(last(asked)) == ["Pickup", "Delivery"]
        answered = decide(asked.state, CustomerText(typed), context)
        assert mode in (answered.state.fulfilment, answered.details.fulfilment), typed


def test_nonsense_at_checkout_asks_again_without_talking_about_orders() -> None:
    context = ctx(**BOTH)
    asked = run(context, ORDER, "confirm")
    again = decide(asked.state, CustomerText("blorp"), context)
    assert "didn't catch an order" not in text_of(again)
    assert buttons(last(again)) == ["Pickup", "Delivery"]
    assert again.place_order is None and again.state.stage == "checkout"


def test_ok_or_thanks_after_an_order_is_acknowledged_not_lectured() -> None:
    context = ctx()
    placed = run(context, ORDER, "confirm")
    assert placed.place_order is not None
    for said in ("ok", "thanks!", "thank you"):
        reply = decide(placed.state, CustomerText(said), context)
        assert "Anything else?" in text_of(reply), said
        assert "didn't catch" not in text_of(reply)
