"""The conversation as a pure state machine: (state, customer event) -> (new state, replies, order).

No I/O here: the caller loads the state, calls `decide`, then stores the state, sends the
replies and places the order in one transaction (bot.processing).

This module reads each event and routes it; the turns it hands on live beside it:
bot.checkout_flow (confirming, pickup or delivery, address, placing), bot.menu_turns (browsing
the menu), bot.conversation_steps (the moves most turns end with: next question or summary,
placing the order), bot.cart_stock (the cart against the stock) and bot.conversation_texts.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from bot import menu, texts
from bot.cart import CartLine, add_lines, price_cart
from bot.checkout_flow import checkout_text, choose_fulfilment, confirm, on_pin
from bot.clarify import PendingChoice, ask, match_answer, which_line
from bot.conversation_model import (  # the engine's values, importable from here too
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
    Stage,
    TextParser,
    TimerFired,
)
from bot.conversation_steps import advance, answer, next_step, repeat
from bot.conversation_texts import (
    EXAMPLE_ORDER,
    explain,
    not_understood,
    summary_lines,
    welcome_text,
)
from bot.edits import (
    AddItems,
    AskWhich,
    ClearCart,
    NothingFits,
    NotInOrder,
    Outcome,
    Undo,
    UnknownItem,
    plan_edit,
)
from bot.handoff import owner_alert, wants_person
from bot.menu_turns import browse, menu_kept, on_menu_tap, typed_pick, welcome
from bot.native_cart import basket_notes, order_note, read_basket
from bot.phrases import CANCEL, GREETING, POLITE, WORDS, YES
from bot.replies import Reply, TextReply
from parsers.models import ParseResult

# The engine's values live in bot.conversation_model; callers may take them from here.
__all__ = ["EXAMPLE_ORDER", "ButtonTap", "Context", "ConversationState", "CustomerText",
           "Decision", "Event", "HandoffRelease", "LocationPin", "NativeCart", "NativeCartItem",
           "OtherMessage", "Stage", "TextParser", "TimerFired", "decide", "summary_lines"]


def decide(state: ConversationState, event: Event, ctx: Context) -> Decision:
    return _tracked(state, _decide_turn(state, event, ctx))


# Clarifying questions by kind, as the metrics name them (bot.clarify.QuestionKind).
_CLARIFY_KINDS = {"variant": "variant", "option": "option", "product": "ambiguous",
                  "stock": "stock", "line": "which_line"}


def _tracked(before: ConversationState, decision: Decision) -> Decision:
    """Remember whether a person helped with the open order, and tag a newly asked question."""
    new = decision.state
    # Set while handed off; kept until the order is placed or dropped, when the cart empties.
    assisted = new.handoff or (new.assisted and bool(new.cart or new.pending))
    outcomes = decision.outcomes
    if new.asking is not None and new.asking != before.asking:
        outcomes = (*outcomes, f"clarify:{_CLARIFY_KINDS[new.asking.kind]}")
    if assisted == new.assisted and outcomes == decision.outcomes:
        return decision
    return replace(decision, state=replace(new, assisted=assisted), outcomes=outcomes)


def _decide_turn(state: ConversationState, event: Event, ctx: Context) -> Decision:
    if isinstance(event, TimerFired | HandoffRelease):
        return _decide(state, event, ctx)  # no undo step: an expired cart is gone for good
    if state.handoff:
        return Decision(state)  # a person is answering: the bot stays quiet (message is stored)
    decision = menu_kept(state, _decide(state, event, ctx))
    if decision.state.reminded:  # they wrote again: an idle cart later earns a fresh reminder
        decision = replace(decision, state=replace(decision.state, reminded=False))
    new = decision.state
    if decision.place_order is not None:
        return replace(decision, state=replace(new, undo=None))  # a placed order is final
    if new.cart != state.cart and new.undo is state.undo:
        # Remember the cart as it was, so "undo" can bring it back (one step).
        return replace(decision, state=replace(new, undo=state.cart))
    return decision


def _decide(state: ConversationState, event: Event, ctx: Context) -> Decision:
    if isinstance(event, ButtonTap):
        return _on_button(state, event.button_id, ctx)
    if isinstance(event, CustomerText):
        return _on_text(state, event.text, ctx)
    if isinstance(event, TimerFired):
        return _on_timer(state, event.kind, ctx)
    if isinstance(event, HandoffRelease):
        return _release(state, ctx)
    if isinstance(event, LocationPin):
        return on_pin(state, event, ctx)
    if isinstance(event, NativeCart):
        # A WhatsApp cart is the customer's whole basket: it replaces a typed one.
        basket = read_basket(event.items, ctx.catalog, ctx.stock)
        note = basket_notes(basket, had_order=bool(state.cart or state.pending),
                            example=EXAMPLE_ORDER)
        notes: tuple[Reply, ...] = (TextReply(note),) if note else ()
        if not basket.lines:  # nothing we can sell: keep what they had
            return Decision(state, (*notes, *repeat(state, ctx)))
        return advance(replace(state, cart=basket.lines, pending=(), asking=None,
                               note=order_note(event.text, state.note),
                               revision=state.revision + 1),
                       ctx, notes)
    return _on_other(state, event.kind, ctx)  # media, stickers, reactions, unknown types


# What we say about each kind of message we cannot read as an order (texts.yaml keys).
_OTHER_TEXTS = {"audio": "media_voice", "voice": "media_voice", "image": "media_image",
                "video": "media_video", "document": "media_document",
                "sticker": "media_sticker", "contacts": "media_contacts",
                "reaction": "media_reaction"}
# Not something the customer said to us: "changed their number" notices and the like.
_SILENT_KINDS = {"system", "ephemeral"}


def _on_other(state: ConversationState, kind: str, ctx: Context) -> Decision:
    open_order = bool(state.cart or state.pending)
    if kind in _SILENT_KINDS or (kind == "reaction" and not open_order):
        return Decision(state)  # a 👍 on "order confirmed" needs no answer
    if kind == "request_welcome":  # the customer opened the chat for the first time
        return Decision(state, (welcome(ctx),))
    sorry = texts.text(_OTHER_TEXTS.get(kind, "media_unknown"))
    if open_order:
        nudge = "" if kind == "reaction" else "\n" + texts.text("media_where_we_were")
        return Decision(state, (TextReply(sorry + nudge), *repeat(state, ctx)))
    return Decision(state, (TextReply(
        sorry + "\n" + texts.text("media_type_order", example=EXAMPLE_ORDER)),))


def _on_timer(
    state: ConversationState, kind: Literal["reminder", "expiry", "handoff_timeout"],
    ctx: Context,
) -> Decision:
    if kind == "handoff_timeout":
        return _release(state, ctx)
    if state.handoff or not (state.cart or state.pending):
        return Decision(state)  # nothing left to remind about or to clear
    if kind == "reminder":
        if state.reminded:
            return Decision(state)
        return Decision(replace(state, reminded=True),
                        (TextReply(texts.text("reminder")), *repeat(state, ctx)))
    return Decision(ConversationState(revision=state.revision + 1),
                    (TextReply(texts.text("cart_expired")),))


def _start_handoff(state: ConversationState, wrote: str, ctx: Context) -> Decision:
    order: list[str] = []
    total = ""
    if state.cart:
        priced = price_cart(state.cart, ctx.catalog)
        order, total = summary_lines(priced, ctx.catalog), ctx.catalog.format_money(priced.total)
    alert = owner_alert(ctx.customer_name, ctx.customer, wrote, order, total)
    return Decision(replace(state, handoff=True, assisted=True),
                    (TextReply(texts.text("handoff_started", shop=ctx.catalog.shop.name)),),
                    alerts=(alert,))


def _release(state: ConversationState, ctx: Context) -> Decision:
    if not state.handoff:
        return Decision(state)
    back = replace(state, handoff=False)
    return Decision(back, (TextReply(texts.text("handoff_released", shop=ctx.catalog.shop.name)),
                           *repeat(back, ctx)))


def _on_button(state: ConversationState, button_id: str, ctx: Context) -> Decision:
    if button_id.startswith(menu.PREFIX):
        return on_menu_tap(state, button_id, ctx)
    action, _, rest = button_id.partition(":")
    revision, _, choice = rest.partition(":")
    if action not in ("confirm", "cancel", "ans", "edit", "ful"):
        return _on_text(state, button_id, ctx)
    if revision != str(state.revision) and (state.cart or state.pending):
        return Decision(state, (TextReply(texts.text("stale_summary")), next_step(state, ctx)))
    if action == "ans":
        return answer(state, choice, ctx)
    if action == "edit":
        return _edit_help(state, ctx)
    if action == "ful":
        return choose_fulfilment(state, choice, ctx)
    return confirm(state, ctx) if action == "confirm" else _cancel(state)


def _on_text(state: ConversationState, raw: str, ctx: Context) -> Decision:
    if wants_person(raw):
        return _start_handoff(state, raw, ctx)
    phrase = " ".join(w for w in WORDS.findall(raw.lower()) if w not in POLITE)
    if phrase in YES and state.stage == "confirming":
        return confirm(state, ctx)
    if state.stage == "idle" and not state.cart and not state.pending and (
        phrase in YES or (not phrase and WORDS.search(raw.lower()))
    ):
        # "ok" / "thanks" after an order (or out of the blue): acknowledge, don't lecture.
        return Decision(state, (TextReply(texts.text("acknowledged")),))
    if phrase in CANCEL:
        return _cancel(state)
    checkout = checkout_text(state, raw, phrase, ctx)
    if checkout is not None:
        return checkout
    if phrase in GREETING or phrase in menu.ASK_WORDS:
        intro = None if phrase in menu.ASK_WORDS else welcome_text(ctx)
        return browse(state, ctx, menu.ShowCategories(), intro=intro)
    if state.browse:  # the menu is the latest list: "3", "more", "drinks" pick from it
        picked = typed_pick(state, raw, ctx)
        if picked is not None:
            return picked
    if state.asking is not None:
        choice = match_answer(state.asking, raw, ctx.catalog)
        if choice is not None:
            return answer(state, choice, ctx)
    edit = plan_edit(raw, state.cart, ctx.catalog, ctx.parser, bare_words=state.asking is None)
    if isinstance(edit, AddItems):
        raw = edit.text  # "I forgot the fries", "2 more falafel": an order in edit words
    elif edit is not None:
        return _edit(state, raw, edit, ctx)
    parsed = ctx.parser.parse(raw)
    return _tagged(_read_order(state, raw, phrase, parsed, ctx), f"parse:{_parse_outcome(parsed)}")


def _parse_outcome(parsed: ParseResult) -> str:
    """understood | partial | unknown_item | unavailable | nothing, for the metrics.

    A missing size or an ambiguous name is understood: the question that follows is counted as
    a clarification."""
    read = bool(parsed.lines) or any(u.reason == "ambiguous" and u.candidates
                                     for u in parsed.unresolved)
    problems = [u.reason for u in parsed.unresolved
                if u.reason not in ("missing_variant", "ambiguous")]
    if read:
        return "partial" if problems else "understood"
    if problems:
        return "unavailable" if all(p == "unavailable" for p in problems) else "unknown_item"
    return "nothing"


def _tagged(decision: Decision, *outcomes: str) -> Decision:
    return replace(decision, outcomes=(*decision.outcomes, *outcomes))


def _read_order(
    state: ConversationState, raw: str, phrase: str, parsed: ParseResult, ctx: Context
) -> Decision:
    """A message read as (part of) an order: add what was understood, say what was not."""
    # A product whose size was not given comes as a line *and* a missing_variant note: the line
    # joins the cart and the question about it is asked below, so the note needs no text.
    notes = tuple(TextReply(explain(u, ctx)) for u in parsed.unresolved
                  if u.reason not in ("missing_variant", "ambiguous"))
    ambiguous = tuple(PendingChoice.from_mention(u.text, u.candidates)
                      for u in parsed.unresolved if u.reason == "ambiguous" and u.candidates)
    if parsed.lines or ambiguous:
        cart = add_lines(state.cart, [CartLine.from_parsed(line) for line in parsed.lines])
        changed = replace(state, cart=cart, pending=state.pending + ambiguous,
                          revision=state.revision + 1)
        return advance(changed, ctx, notes)
    if notes:
        return Decision(state, (*notes, *repeat(state, ctx)))
    if state.asking is not None:
        return Decision(state, (TextReply(texts.text("ask_again")), next_step(state, ctx)))
    if not state.cart:
        return (browse(state, ctx, menu.ShowCategories(), intro=welcome_text(ctx))
                if not phrase else Decision(state, (not_understood(),)))
    if state.stage == "checkout":
        return Decision(state, (TextReply(texts.text("checkout_not_understood")),
                                next_step(state, ctx)))
    return Decision(state, (not_understood(), next_step(state, ctx)))


def _edit(state: ConversationState, raw: str, edit: Outcome, ctx: Context) -> Decision:
    if isinstance(edit, Undo):
        if state.undo is None:
            return Decision(state, (TextReply(texts.text("nothing_to_undo")), *repeat(state, ctx)))
        restored = replace(state, cart=state.undo, undo=None, revision=state.revision + 1)
        return advance(restored, ctx, ())
    if isinstance(edit, ClearCart):
        emptied = replace(state, stage="idle", cart=(), pending=(), asking=None, fulfilment=None,
                          address="", location=None, note="", revision=state.revision + 1)
        return Decision(emptied, (TextReply(texts.text("started_over", example=EXAMPLE_ORDER)),))
    if isinstance(edit, NotInOrder):
        return _not_in_order(state, edit.what, ctx)
    if isinstance(edit, NothingFits):
        return Decision(state, (TextReply(texts.text("edit_nothing_fits", text=edit.what)),
                                *repeat(state, ctx)))
    if isinstance(edit, UnknownItem):
        return Decision(state, (TextReply(explain(edit.unresolved, ctx)), *repeat(state, ctx)),
                        outcomes=("parse:unknown_item",))
    if isinstance(edit, AskWhich):
        question = which_line(state.cart, edit.lines, edit.change, raw.strip(), ctx.catalog)
        asking = replace(state, stage="asking", asking=question, revision=state.revision + 1)
        return Decision(asking, (ask(question, asking.revision, ctx.catalog),))
    if isinstance(edit, AddItems):  # read as an order by the caller; never reaches here
        return Decision(state, repeat(state, ctx))
    changed = replace(state, cart=edit.cart, revision=state.revision + 1)
    if not edit.cart and not state.pending:
        return Decision(replace(changed, stage="idle", asking=None),
                        (TextReply(texts.text("order_empty")),))
    return advance(changed, ctx, ())


def _not_in_order(state: ConversationState, what: str, ctx: Context) -> Decision:
    return Decision(state, (TextReply(texts.text("not_in_order", text=what)),
                            *repeat(state, ctx)))


def _cancel(state: ConversationState) -> Decision:
    if not state.cart and not state.pending:
        return Decision(state, (TextReply(texts.text("nothing_to_cancel")),))
    emptied = replace(state, stage="idle", cart=(), pending=(), asking=None,
                      fulfilment=None, address="", location=None, note="",
                      revision=state.revision + 1)
    return Decision(emptied, (TextReply(texts.text("cancelled")),),
                    outcomes=("cancel:customer",))


def _edit_help(state: ConversationState, ctx: Context) -> Decision:
    if not state.cart:
        return Decision(state, (TextReply(texts.text("nothing_to_confirm")),))
    priced = price_cart(state.cart, ctx.catalog)
    lines = [*summary_lines(priced, ctx.catalog),
             texts.text("summary_total", total=ctx.catalog.format_money(priced.total))]
    # The order stays open; a change typed next brings a fresh summary with its own buttons.
    opened = replace(state, stage="confirming") if state.stage == "checkout" else state
    return Decision(opened, (TextReply(texts.text("edit_help", lines="\n".join(lines))),))
