"""Fuzzing the conversation's pure `decide` with random event sequences and the real parser."""

from __future__ import annotations

from datetime import UTC, datetime

import hypothesis
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.whatsapp_limits import validate_outbound
from bot import menu
from bot.conversation import (
    ButtonTap,
    Context,
    ConversationState,
    CustomerText,
    Decision,
    Event,
    HandoffRelease,
    LocationPin,
    NativeCart,
    NativeCartItem,
    OtherMessage,
    TimerFired,
    decide,
)
from bot.replies import ButtonsReply, ListReply, fit_to_whatsapp, graph_payload
from catalog.catalog import Catalog
from parsers.order_parser import OrderParser
from tests.fuzz.budget import examples
from tests.fuzz.strategies import ODD_PIECES, odd_text

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)  # a Wednesday, 13:00 in New York: open
CUSTOMER = "15550002222"

# What customers really type at each step, so random sequences reach the deep states
# (questions, checkout, delivery address) and not just "Sorry, I didn't get that".
PHRASES = (
    "2 chicken shawarma and a large pepsi", "a margherita", "burger", "shawarma", "pizza",
    "3 falafel wrap no garlic + 2 fries", "yes", "ok", "confirm", "cancel", "make it 3",
    "make the pepsi 2", "remove the pepsi", "no, large", "large instead", "undo", "start over",
    "I forgot the fries", "2 more shawarma", "change the burger to chicken",
    "swap the pepsi for a coke", "add extra cheese to the burger", "hi", "menu", "1", "2", "3",
    "12", "the large one", "second", "last", "pickup", "delivery", "deliver", "collect",
    "12 Harbour Road, flat 3", "note: ring the bell", "add a note no onions", "agent", "human",
    "lasagna", "0", "make it 0", "make it 999", "9999 pepsi", "edit", "thanks",
)
PREFIXES = ("confirm", "cancel", "ans", "edit", "ful", menu.PREFIX.rstrip(":"), "x", "")


def offered_ids(decision: Decision) -> list[str]:
    ids: list[str] = []
    for reply in decision.replies:
        if isinstance(reply, ButtonsReply):
            ids.extend(button_id for button_id, _ in reply.buttons)
        elif isinstance(reply, ListReply):
            ids.extend(row_id for row_id, _, _ in reply.rows)
    return ids


def events(offered: list[str], revision: int, catalog: Catalog) -> st.SearchStrategy[Event]:
    junk = st.one_of(st.text(max_size=12), st.sampled_from(ODD_PIECES),
                     st.sampled_from(("", "0", "-1", "999999999999", "all", "pickup", "x:y")))
    revisions = st.one_of(st.just(str(revision)), st.sampled_from(
        (str(revision - 1), str(revision + 1), "", "abc", "1" * 40, "\u0663")))
    crafted = st.builds(lambda p, r, c: f"{p}:{r}:{c}", st.sampled_from(PREFIXES), revisions,
                        st.one_of(junk, st.sampled_from([i.rsplit(":", 1)[-1] for i in offered]
                                                        or ["x"])))
    product_ids = [p.id for p in catalog.products]
    cart_item = st.builds(NativeCartItem, st.one_of(st.sampled_from(product_ids), junk),
                          st.integers(1, 999), st.sampled_from(("", "1.99", "abc")))
    kinds: list[st.SearchStrategy[Event]] = [
        st.sampled_from(PHRASES).map(CustomerText),
        odd_text(12).map(CustomerText),
        crafted.map(ButtonTap),
        st.builds(OtherMessage, st.sampled_from(("image", "audio", "sticker", "reaction",
                                                 "request_welcome", "system", "unknown", ""))),
        st.builds(LocationPin, st.floats(-90, 90), st.floats(-180, 180), junk, junk),
        st.builds(NativeCart, st.lists(cart_item, max_size=4).map(tuple), junk),
        st.builds(TimerFired, st.sampled_from(("reminder", "expiry", "handoff_timeout"))),
        st.just(HandoffRelease()),
    ]
    if offered:  # tapping what the bot just showed is what customers do most
        kinds = [st.sampled_from(offered).map(ButtonTap)] * 3 + kinds
    return st.one_of(kinds)


def check(decision: Decision, catalog: Catalog) -> None:
    if decision.place_order is not None:
        assert decision.place_order.lines, "an order was placed with an empty cart"
        assert all(line.line.quantity >= 1 for line in decision.place_order.lines)
        assert all(catalog.product(line.line.product) for line in decision.place_order.lines)
        assert decision.place_order.total >= 0
    for reply in fit_to_whatsapp(decision.replies):  # what the processor sends
        assert validate_outbound(graph_payload(reply, CUSTOMER)) == [], reply
    # The processor stores the state as JSON between messages: it must come back the same.
    assert ConversationState.from_json(decision.state.to_json()) == decision.state


@settings(max_examples=examples(60))
@given(data=st.data(), stock=st.dictionaries(st.sampled_from(("chicken-shawarma", "pepsi",
                                                              "fries", "baklava")),
                                             st.integers(0, 5), max_size=2))
def test_random_conversations_never_crash_and_never_place_an_empty_order(
    restaurant_parser: OrderParser, restaurant: Catalog, data: st.DataObject,
    stock: dict[str, int],
) -> None:
    ctx = Context(restaurant, restaurant_parser, "Alex", customer=CUSTOMER, now=NOW, stock=stock)
    state, placed = ConversationState(), 0
    offered: list[str] = []
    for _ in range(data.draw(st.integers(1, 14), label="steps")):
        event = data.draw(events(offered, state.revision, restaurant), label="event")
        decision = decide(state, event, ctx)
        check(decision, restaurant)
        state, offered = decision.state, offered_ids(decision) or offered
        placed += decision.place_order is not None
    # (--hypothesis-show-statistics: how often the random walks get as far as an order)
    hypothesis.event(f"orders placed: {min(placed, 2)}, last stage: {state.stage}")


@settings(max_examples=examples(25))
@given(data=st.data())
def test_random_conversations_in_a_grocery_never_crash(
    grocery_parser: OrderParser, grocery: Catalog, data: st.DataObject
) -> None:
    ctx = Context(grocery, grocery_parser, "Sam", customer=CUSTOMER, now=NOW)
    state = ConversationState()
    offered: list[str] = []
    for _ in range(data.draw(st.integers(1, 10), label="steps")):
        event = data.draw(events(offered, state.revision, grocery), label="event")
        decision = decide(state, event, ctx)
        check(decision, grocery)
        state, offered = decision.state, offered_ids(decision) or offered
