"""Every sentence the bot says to a customer, in one place so a shop can reword it.

Placeholders use str.format names. Keep button titles within WhatsApp's 20 characters.
"""

from __future__ import annotations

TEXTS: dict[str, str] = {
    "welcome": "Hi{name}! Welcome to {shop}. Just type your order, for example:\n"
    "“{example}”\n\n{menu}",
    "menu_header": "Our menu:",
    "menu_more": "…and {count} more items. Ask for anything by name.",
    "not_understood": "Sorry, I didn't catch an order in that. Type what you'd like, for example:\n"
    "“{example}” — or send “menu” to see what we have.",
    "unknown_item": "Sorry, we don't have “{text}”. Send “menu” to see what we have.",
    "unknown_item_suggest": "Sorry, we don't have “{text}”. Did you mean {candidates}?",
    "ambiguous_item": "Which one did you mean by “{text}”: {candidates}? Please type it again.",
    "missing_variant": "Which one would you like for {product}: {variants}? "
    "Type it with the item, e.g. “{example}”.",
    "unavailable_item": "Sorry, {product} is not available right now.",
    "ask_variant": "Which one would you like for your {product}?",
    "ask_option": "Please choose the {group} for your {product}:",
    "ask_product": "Which one did you mean by “{text}”?",
    "ask_again": "Sorry, that isn't one of the choices.",
    "button_choose": "Choose",
    "type_a_number": "Type the number or the name of your choice.",
    "not_in_order": "I couldn't find “{text}” in your order.",
    "nothing_to_undo": "There's nothing to undo.",
    "order_empty": "Your order is empty now. Type what you'd like to order.",
    "summary_header": "Your order:",
    "summary_total": "Total: {total}",
    "summary_question": "Shall I place this order?",
    "button_confirm": "Confirm",
    "button_cancel": "Cancel",
    "confirmed": "Thank you{name}! Your order {number} is confirmed. Total {total}. "
    "We'll message you when it's ready.",
    "cancelled": "Your order was cancelled. Message us any time to start a new one.",
    "nothing_to_cancel": "There's no open order to cancel. Type what you'd like to order.",
    "nothing_to_confirm": "There's nothing to confirm yet. Type what you'd like to order.",
    "stale_summary": "That summary is out of date — here is your order as it stands now.",
    "internal_error": "Sorry, something went wrong on our side with that message. "
    "Please send it again, or type “menu” to start over.",
    "media_not_supported": "I can only read typed orders for now. Please type what you'd like, "
    "for example: “{example}”.",
}


def text(key: str, **values: object) -> str:
    return TEXTS[key].format(**values)
