"""Human handoff: spotting "I want a person" and the alert the shop owner gets. Pure.

While a conversation is handed off the bot sends the customer nothing; a person answers from
the business's WhatsApp. `orderbot handoff release WA_ID`, or a quiet period
(ORDERBOT_HANDOFF_TIMEOUT_MINUTES), gives the conversation back to the bot.
"""

from __future__ import annotations

import re

from bot import texts

# Who a customer may ask for. "someone"/"person" alone are too common in orders ("a wrap for
# someone else"), so they count only after a talking verb or as the whole message.
_WHO = (r"(?:a |an |the |some |your |one of your |real |live |actual )*"
        r"(?:human|humans|person|people|someone|somebody|anyone|anybody|agent|manager|owner|"
        r"staff|operator|representative|rep|employee|support|customer (?:service|support))\b")
_ASKS_FOR_PERSON = [
    re.compile(r"\b(?:talk|speak|chat|connect|transfer|put|pass|get)\b(?: me)?"
               r"(?: (?:through|over|directly))? (?:to|with) " + _WHO),
    re.compile(r"\b(?:real|live|actual) (?:human|person|people|agent)\b"),
    re.compile(r"\b(?:human|live) (?:agent|support|help|being)\b"),
    # "call me" as the request itself; "call me when you arrive" is a delivery note.
    re.compile(r"\b(?:(?:call|ring|phone) me|give me a (?:call|ring))(?: back)?"
               r"(?: (?:please|pls|now|asap|urgently|today))?$"),
    re.compile(r"\b(?:call|ring|phone) me back\b"),
    re.compile(r"\bcustomer (?:service|support|care)\b"),
    re.compile(r"\b(?:don'?t|do not) want (?:to (?:talk|chat|speak) (?:to|with) )?"
               r"(?:a |the |this |your )?(?:bot|robot|machine)\b"),
]
_WHOLE_MESSAGE = {"agent", "an agent", "human", "a human", "person", "a person", "operator",
                  "representative", "manager", "the manager", "staff", "support", "someone",
                  "somebody", "human please", "agent please", "people"}
_PUNCTUATION = re.compile(r"[^\w' ]+")


def wants_person(text: str) -> bool:
    """True when the customer asks for a human instead of the bot."""
    words = " ".join(_PUNCTUATION.sub(" ", text.lower()).split())
    if not words:
        return False
    if words in _WHOLE_MESSAGE or words.removesuffix(" pls").removesuffix(" please") in (
        _WHOLE_MESSAGE
    ):
        return True
    return any(pattern.search(words) for pattern in _ASKS_FOR_PERSON)


def owner_alert(name: str, number: str, wrote: str, order: list[str], total: str) -> str:
    """The WhatsApp text the owner gets: who, what they wrote, their open order, how to release."""
    who = f"{name} (+{number.lstrip('+')})" if name.strip() else f"+{number.lstrip('+')}"
    basket = ""
    if order:
        basket = "\n" + texts.text("handoff_alert_order", lines="\n".join(order), total=total)
    return texts.text("handoff_alert", customer=who, text=wrote.strip()[:500], order=basket,
                      number=number.lstrip("+"))
