"""A burst of messages gets one answer, and the customer always ends it with a prompt."""

from __future__ import annotations

from bot.burst import NOTHING_HELD, burst_replies
from bot.replies import ButtonsReply, TextReply

SUMMARY_1 = ButtonsReply("Your order: 1 wrap", (("confirm:1", "Confirm"),))
SUMMARY_2 = ButtonsReply("Your order: 1 wrap, 1 pepsi", (("confirm:2", "Confirm"),))
NOTE = TextReply("Sorry, we don't have lasagna.")
HINT = TextReply("Please type your order.")


def test_an_earlier_message_keeps_its_notes_and_holds_its_summary() -> None:
    sent, held = burst_replies((NOTE, SUMMARY_1), revision=1, stage="confirming",
                               more_coming=True, held=NOTHING_HELD)
    assert sent == [NOTE]
    assert held.replies == (SUMMARY_1,)


def test_a_newer_prompt_replaces_the_held_one() -> None:
    _, held = burst_replies((SUMMARY_1,), revision=1, stage="confirming", more_coming=True,
                            held=NOTHING_HELD)
    sent, left = burst_replies((SUMMARY_2,), revision=2, stage="confirming", more_coming=False,
                               held=held)
    assert sent == [SUMMARY_2]
    assert left == NOTHING_HELD


def test_a_last_message_that_asks_nothing_is_followed_by_the_held_prompt() -> None:
    _, held = burst_replies((SUMMARY_1,), revision=1, stage="confirming", more_coming=True,
                            held=NOTHING_HELD)
    sent, _ = burst_replies((HINT,), revision=1, stage="confirming", more_coming=False, held=held)
    assert sent == [HINT, SUMMARY_1]


def test_a_held_prompt_is_dropped_once_the_conversation_moved_on() -> None:
    # "2 wraps" then "cancel": the summary of the cancelled cart must not follow "cancelled".
    _, held = burst_replies((SUMMARY_1,), revision=1, stage="confirming", more_coming=True,
                            held=NOTHING_HELD)
    cancelled = TextReply("Your order was cancelled.")
    sent, _ = burst_replies((cancelled,), revision=2, stage="idle", more_coming=False, held=held)
    assert sent == [cancelled]


def test_a_message_on_its_own_is_answered_in_full() -> None:
    sent, held = burst_replies((NOTE, SUMMARY_1), revision=1, stage="confirming",
                               more_coming=False, held=NOTHING_HELD)
    assert sent == [NOTE, SUMMARY_1]
    assert held == NOTHING_HELD
