"""What a cart edit typed in free text asks for, read from the words alone: "remove the pepsi",
"make it 3", "no, large", "change the burger to chicken", "add extra cheese to the burger",
"2 more shawarma", "start over", "undo". Pure.

The first of the two steps of an edit (bot.edits): `read_edit` recognises the *shape* of an edit
without looking at the cart; bot.edits.plan_edit then places it against the cart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.line_changes import MAX_QUANTITY
from parsers.normalize import number_value

_NUMBER = r"\d{1,3}|[a-z]+"
_LEAD = re.compile(
    r"^(?:(?:please|pls|plz|and|also|oh|ok|okay|hmm+|um+|wait|so|hey)\b[\s,]*)+", re.IGNORECASE)
# Words that mark a correction of what was just said: "no, large", "actually a coke".
_CORRECTION = re.compile(
    r"^(?:(?:no|nope|sorry|oops|actually|i\s+meant|i\s+mean|rather|i\s+said)\b[\s,]*)+",
    re.IGNORECASE)
_TAIL = re.compile(r"(?:[\s,]+(?:please|pls|plz|thanks|thank\s+you|thx|ty))*[\s.!?]*$",
                   re.IGNORECASE)
_ARTICLE = re.compile(r"^(?:the|my|a|an|that|this|those|these)\s+", re.IGNORECASE)
_BARE_WORDS = 4
_WHOLE_ORDER = {"order", "cart", "basket", "list"}
_LAST = {"", "it", "that", "this", "that one", "this one", "last one", "the last one",
         "last item", "the last item", "last thing", "the last thing", "them", "those", "one"}

_UNDO = re.compile(r"^(?:undo|undo\s+(?:that|it|the\s+last\s+change)|go\s+back|revert)$", re.I)
_CLEAR = re.compile(
    r"^(?:start\s+(?:over|again|from\s+scratch)|(?:clear|empty|reset|restart)"
    r"(?:\s+(?:the|my))?(?:\s+(?:order|cart|basket|everything|all))?"
    r"|(?:remove|delete|cancel)\s+(?:everything|all|it\s+all))$", re.I)
_REMOVE = re.compile(
    r"^(?:remove|delete|drop|take\s+(?:off|out|away)|cancel|forget|no\s+more|scrap|get\s+rid\s+of)"
    r"\s+(?P<what>.+?)(?:\s+(?:from|off)\s+(?:the|my)\s+(?:order|cart|list))?$", re.I)
_QUANTITY = re.compile(
    rf"^(?:make|change)\s+(?:(?:it|that|them|those|this)|(?P<what>.+?))\s+(?:to\s+)?"
    rf"(?P<n>{_NUMBER})(?:\s+of\s+(?:them|those|these|it))?$", re.I)
_OF_THEM = re.compile(
    rf"^(?:i\s+want\s+|i'?ll\s+have\s+|just\s+|only\s+)?(?P<n>{_NUMBER})\s+of\s+(?:them|those|these|it)$",
    re.I)
_MORE = re.compile(
    rf"^(?:(?P<n>{_NUMBER}|a\s+couple)\s+more|another)(?:\s+(?P<what>.+))?$", re.I)
_FORGOT = re.compile(
    r"^i\s+(?:forgot|forget|also\s+want|also\s+need)(?:\s+to\s+(?:add|order|get|say))?\s+(?P<what>.+)$",
    re.I)
_MODIFY = re.compile(
    r"^(?:add|put)\s+(?P<mods>.+?)\s+(?:to|on|onto|in|into|for)\s+(?:the|my|that|this)\s+(?P<what>.+)$"
    r"|^(?P<mods2>(?:no|without|hold\s+the|extra|light|double|with|less|more|add)\s+.+?)\s+"
    r"(?:on|in|to|for|with)\s+(?:the|my|that|this)\s+(?P<what2>.+)$", re.I)
_ADD_MODS = re.compile(r"^(?:add|put)\s+(?P<mods>(?:extra|light|double|more|some)\s+.+)$", re.I)
_NEGATE = re.compile(r"^(?:no|without|hold\s+the)\s+(?P<what>[^,]+)$", re.I)
_BARE_NO = re.compile(r"^(?:no|without|hold\s+the)\s+[^\s,]", re.I)
_CHANGE = re.compile(
    r"^(?:change|switch|swap|replace|turn)\s+(?P<what>.+?)\s+(?:to|for|with|into|by)\s+(?P<to>.+)$"
    # "instead of the pepsi a 7up": the item ends at a comma, an article or a verb.
    r"|^instead\s+of\s+(?P<what2>.+?)(?:\s*,\s*|\s+(?=(?:a|an|one|two|\d+|some|i|give|get|can)\s))"
    r"(?:(?:i(?:'ll|\s+will)?\s+(?:want|have|take)|give\s+me|get\s+me|can\s+i\s+(?:get|have))\s+)?"
    r"(?P<to2>.+)$"
    r"|^(?P<to3>.+?)\s+instead\s+of\s+(?P<what3>.+)$", re.I)
_MAKE_IT = re.compile(
    r"^(?:make|change|switch)\s+(?:it|that|this|them)\s+(?:to\s+|into\s+)?(?P<to>.+)$"
    r"|^(?:change|switch)\s+to\s+(?P<to2>.+)$", re.I)
_MAKE_NAMED = re.compile(r"^make\s+(?:the|my)\s+(?P<words>.+)$", re.I)
_INSTEAD = re.compile(
    r"^(?P<to>.+?)\s+instead$|^(?:the\s+)?(?P<one>[a-z0-9\"']+(?:\s+[a-z0-9\"']+)?)\s+one$", re.I)


# ---- what the customer asked for -------------------------------------------------------------

@dataclass(frozen=True)
class RemoveItems:
    what: str  # empty: the line the customer touched last


@dataclass(frozen=True)
class SetQuantity:
    quantity: int
    what: str = ""  # empty: the line the customer touched last


@dataclass(frozen=True)
class AddMore:
    """"2 more shawarma": raise an existing line; an order like any other when there is none."""

    quantity: int
    what: str = ""


@dataclass(frozen=True)
class Change:
    """Turn a line into something else: another variant, option choice or product."""

    to: str
    what: str = ""  # empty: the line it fits
    correction: bool = False  # "no, large" / "large instead": the last line it fits, no question
    explicit: bool = True  # said with a verb ("change", "make", "swap"), not just "large"


@dataclass(frozen=True)
class MakeNamed:
    """"make the pepsi large": the line and the change are run together, split when placing."""

    words: str


@dataclass(frozen=True)
class Modify:
    """Options and removals for a line already ordered: "add extra cheese to the burger"."""

    modifiers: str
    what: str = ""


@dataclass(frozen=True)
class Negate:
    """"no pepsi" removes a pepsi that is in the cart; "no onions" takes onions off a line."""

    what: str


@dataclass(frozen=True)
class AddItems:
    """An ordinary order in edit words ("I forgot the fries"): the text to order."""

    text: str


@dataclass(frozen=True)
class ClearCart:
    pass


@dataclass(frozen=True)
class Undo:
    pass


Edit = (RemoveItems | SetQuantity | AddMore | Change | MakeNamed | Modify | Negate | AddItems
        | ClearCart | Undo)


def read_edit(text: str) -> Edit | None:
    """The edit a message asks for, or None when it does not have the shape of an edit."""
    edit = read_possible_edit(text)
    bare = isinstance(edit, Change) and not (edit.explicit or edit.correction)
    return None if bare else edit


def read_possible_edit(text: str) -> Edit | None:
    """Like read_edit, but a short bare phrase ("large") comes back as a possible change."""
    words = _LEAD.sub("", _TAIL.sub("", " ".join(text.split()))).strip(" ,").lower()
    if _BARE_NO.match(words):  # "no pepsi", "without onions": a comma would make it "no, large"
        modify = _MODIFY.match(words)
        if modify:
            return Modify(modify.group("mods2"), _target(modify.group("what2")))
        negated = _NEGATE.match(words)
        return Negate(negated.group("what").strip()) if negated else None
    marked = _CORRECTION.match(words)
    if marked:
        words = _LEAD.sub("", words[marked.end():]).strip(" ,")
    if not words:
        return None
    if _UNDO.match(words):
        return Undo()
    if _CLEAR.match(words):
        return ClearCart()
    return _read_quantity(words) or _read_change(words, correction=marked is not None)


def _read_quantity(words: str) -> Edit | None:
    for pattern in (_QUANTITY, _OF_THEM):
        match = pattern.match(words)
        if match and (count := read_count(match.group("n"))) is not None:
            what = match.groupdict().get("what") or ""
            return SetQuantity(count, _target(what))
    more = _MORE.match(words)
    if more:
        raw = more.group("n") or "one"
        count = 2 if raw.startswith("a") else read_count(raw)
        what = _target(more.group("what") or "")
        if count is not None and count > 0 and (what or not more.group("what")):
            return AddMore(count, "" if what in _LAST else what)
    removal = _REMOVE.match(words)
    if removal:
        return RemoveItems(_target(removal.group("what")))
    forgot = _FORGOT.match(words)
    if forgot:
        return AddItems(strip_article(forgot.group("what")))
    return None


def _read_change(words: str, correction: bool) -> Edit | None:
    modify = _MODIFY.match(words)
    if modify:
        mods = modify.group("mods") or modify.group("mods2")
        what = _target(modify.group("what") or modify.group("what2"))
        if what in _WHOLE_ORDER:  # "add 2 soaps to my order": an order, not an option
            return AddItems(mods)
        return Modify(mods, what)
    added = _ADD_MODS.match(words)
    if added:
        return Modify(added.group("mods"))
    change = _CHANGE.match(words)
    if change:
        what = change.group("what") or change.group("what2") or change.group("what3")
        to = change.group("to") or change.group("to2") or change.group("to3")
        return Change(strip_article(to), _target(what), correction)
    make_it = _MAKE_IT.match(words)
    if make_it:
        return Change(strip_article(make_it.group("to") or make_it.group("to2")), "", correction)
    named = _MAKE_NAMED.match(words)
    if named:
        return MakeNamed(named.group("words"))
    instead = _INSTEAD.match(words)
    if instead:
        return Change(strip_article(instead.group("to") or instead.group("one")), "", True,
                      explicit=False)
    # A bare phrase after "no," / "actually" ("no, large", "actually a coke") is a correction;
    # alone ("large", "well done") it is an edit only if it is a size or choice of a line.
    if correction or len(words.split()) <= _BARE_WORDS:
        return Change(strip_article(words), "", correction, explicit=False)
    return None


def _target(what: str) -> str:
    what = what.strip(" ,")
    return "" if what.lower() in _LAST else strip_article(what)


def strip_article(words: str) -> str:
    return _ARTICLE.sub("", words.strip(" ,")).strip()


def read_count(word: str) -> int | None:
    # isdecimal, not isdigit: "፩" is a digit int() cannot read; 4,300+ digits it refuses.
    if word.isdecimal():
        value = int(word) if len(word) <= 6 else None
    else:
        value = number_value(word.lower())
    return value if value is not None and 0 <= value <= MAX_QUANTITY else None
