"""The short phrases the conversation knows at any stage: yes, cancel, greetings, and the
politeness that does not change what a message means. Pure data.
"""

from __future__ import annotations

import re

WORDS = re.compile(r"[a-z']+")
YES = {"yes", "y", "yep", "yeah", "yup", "ok", "okay", "confirm", "confirmed", "sure", "correct",
        "place it", "go ahead", "sounds good", "perfect", "done"}
# "start over" / "clear the order" are edits (bot.edits.ClearCart): they empty the cart too.
CANCEL = {"cancel", "cancel it", "cancel order", "cancel my order", "stop",
           "nevermind", "never mind", "forget it"}
POLITE = {"please", "pls", "plz", "thanks", "thank", "you", "thx", "ty", "sir", "bro", "mate"}
GREETING = {"hi", "hello", "hey", "hola", "salam", "salaam", "good morning", "good evening",
             "menu", "the menu", "show menu", "show me the menu", "start", "help",
             "what do you have"}
