"""Cart edits typed in free text: "remove the pepsi", "make it 3", "no, large", "change the burger
to chicken", "add extra cheese to the burger", "2 more shawarma", "start over", "undo". Pure.

Two steps. `read_edit` recognises the *shape* of an edit from the words alone; `plan_edit` then
places it against the cart (which line, which variant or option, which product) and says what
happens. A message is only claimed when every part of it is accounted for, so ordinary orders
("2 shawarma and a pepsi", "large pepsi") go on to the order parser untouched. Only the cart
lines an edit names change; every other line stays exactly as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from rapidfuzz import fuzz, process

from bot.cart import CartLine
from catalog.catalog import Catalog
from catalog.models import Product
from parsers.models import ParsedLine, ParseResult, Unresolved
from parsers.normalize import number_value

MAX_QUANTITY = 999
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
    edit = _read_any(text)
    bare = isinstance(edit, Change) and not (edit.explicit or edit.correction)
    return None if bare else edit


def _read_any(text: str) -> Edit | None:
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
        if match and (count := _count(match.group("n"))) is not None:
            what = match.groupdict().get("what") or ""
            return SetQuantity(count, _target(what))
    more = _MORE.match(words)
    if more:
        raw = more.group("n") or "one"
        count = 2 if raw.startswith("a") else _count(raw)
        what = _target(more.group("what") or "")
        if count is not None and count > 0 and (what or not more.group("what")):
            return AddMore(count, "" if what in _LAST else what)
    removal = _REMOVE.match(words)
    if removal:
        return RemoveItems(_target(removal.group("what")))
    forgot = _FORGOT.match(words)
    if forgot:
        return AddItems(_strip_article(forgot.group("what")))
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
        return Change(_strip_article(to), _target(what), correction)
    make_it = _MAKE_IT.match(words)
    if make_it:
        return Change(_strip_article(make_it.group("to") or make_it.group("to2")), "", correction)
    named = _MAKE_NAMED.match(words)
    if named:
        return MakeNamed(named.group("words"))
    instead = _INSTEAD.match(words)
    if instead:
        return Change(_strip_article(instead.group("to") or instead.group("one")), "", True,
                      explicit=False)
    # A bare phrase after "no," / "actually" ("no, large", "actually a coke") is a correction;
    # alone ("large", "well done") it is an edit only if it is a size or choice of a line.
    if correction or len(words.split()) <= _BARE_WORDS:
        return Change(_strip_article(words), "", correction, explicit=False)
    return None


def _target(what: str) -> str:
    what = what.strip(" ,")
    return "" if what.lower() in _LAST else _strip_article(what)


def _strip_article(words: str) -> str:
    return _ARTICLE.sub("", words.strip(" ,")).strip()


def _count(word: str) -> int | None:
    # isdecimal, not isdigit: "፩" is a digit int() cannot read; 4,300+ digits it refuses.
    if word.isdecimal():
        value = int(word) if len(word) <= 6 else None
    else:
        value = number_value(word.lower())
    return value if value is not None and 0 <= value <= MAX_QUANTITY else None


# ---- what to do to one line ------------------------------------------------------------------

ChangeKind = Literal["remove", "quantity", "more", "variant", "modify", "replace"]


@dataclass(frozen=True)
class LineChange:
    """A change to one cart line, decided before knowing which line (for "which one?")."""

    kind: ChangeKind
    quantity: int = 0  # quantity: the new count; more: how many to add; replace: 0 keeps it
    variant: str = ""
    options: tuple[tuple[str, str | None], ...] = ()  # choices to add (or requalify)
    removed: tuple[str, ...] = ()  # ingredients or choices to take off
    restored: tuple[str, ...] = ()  # ingredients to put back ("with garlic" after "no garlic")
    note: str = ""
    line: CartLine | None = None  # replace: the new item
    keep_variant: bool = False  # replace: the new item's size was not said, keep the old one

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "quantity": self.quantity, "variant": self.variant,
                "options": [list(o) for o in self.options], "removed": list(self.removed),
                "restored": list(self.restored), "note": self.note,
                "line": self.line.to_json() if self.line else None,
                "keep_variant": self.keep_variant}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LineChange:
        line = data.get("line")
        return cls(data["kind"], int(data.get("quantity", 0)), str(data.get("variant", "")),
                   tuple((str(o[0]), o[1]) for o in data.get("options", [])),
                   tuple(data.get("removed", [])), tuple(data.get("restored", [])),
                   str(data.get("note", "")), CartLine.from_json(line) if line else None,
                   bool(data.get("keep_variant", False)))


def apply_change(line: CartLine, change: LineChange, catalog: Catalog) -> CartLine | None:
    """The line after the change; None when the change removes it."""
    if change.kind == "remove" or (change.kind == "quantity" and change.quantity == 0):
        return None
    if change.kind == "quantity":
        return replace(line, quantity=change.quantity)
    if change.kind == "more":
        return replace(line, quantity=min(line.quantity + change.quantity, MAX_QUANTITY))
    if change.kind == "variant":
        return replace(line, variant=change.variant)
    product = catalog.product(line.product)
    if change.kind == "replace" and change.line is not None:
        return _replaced(line, change, catalog)
    options = list(line.options)
    for choice, qualifier in change.options:
        options = _choose(options, choice, qualifier, product)
    removed = [r for r in line.removed if r not in change.restored]
    for item in change.removed:
        if any(cid == item for cid, _ in options):
            options = [o for o in options if o[0] != item]  # "no cheese" undoes "with cheese"
        elif item not in removed:
            removed.append(item)
    note = " ".join(n for n in (line.note, change.note) if n)
    return replace(line, options=tuple(options), removed=tuple(removed), note=note)


def _choose(options: list[tuple[str, str | None]], choice: str, qualifier: str | None,
            product: Product | None) -> list[tuple[str, str | None]]:
    """Add a choice; in a pick-one group ("Doneness") it replaces the one picked before."""
    group = next((g for g in product.options if any(c.id == choice for c in g.choices)), None) \
        if product else None
    if group is not None and group.max == 1:
        siblings = {c.id for c in group.choices} - {choice}
        options = [o for o in options if o[0] not in siblings]
    if any(cid == choice for cid, _ in options):
        return [(cid, qualifier) if cid == choice else (cid, q) for cid, q in options]
    return [*options, (choice, qualifier)]


def _replaced(old: CartLine, change: LineChange, catalog: Catalog) -> CartLine:
    new = change.line
    assert new is not None
    product = catalog.product(new.product)
    variant = new.variant
    if change.keep_variant and product is not None and product.variant(old.variant) is not None:
        variant = old.variant  # "swap the large pepsi for a coke": a large coke
    kept_options = tuple(o for o in old.options if product is not None
                         and product.choice(o[0]) is not None
                         and all(o[0] != cid for cid, _ in new.options))
    kept_removed = tuple(r for r in old.removed if product is not None
                         and _takes_off(product, r) and r not in new.removed)
    return replace(new, quantity=change.quantity or old.quantity, variant=variant,
                   options=new.options + kept_options, removed=new.removed + kept_removed)


def _takes_off(product: Product, item: str) -> bool:
    return any(i.id == item for i in product.ingredients) or product.choice(item) is not None


def apply_to_lines(cart: tuple[CartLine, ...], indexes: tuple[int, ...], change: LineChange,
                   catalog: Catalog) -> tuple[CartLine, ...]:
    """Apply a change to some lines; the other lines are returned as they were."""
    lines: list[CartLine] = []
    for index, line in enumerate(cart):
        changed = apply_change(line, change, catalog) if index in indexes else line
        if changed is not None:
            lines.append(changed)
    return tuple(lines)


# ---- placing an edit against the cart --------------------------------------------------------

class TextParser(Protocol):
    def parse(self, text: str) -> ParseResult: ...


@dataclass(frozen=True)
class Edited:
    cart: tuple[CartLine, ...]


@dataclass(frozen=True)
class AskWhich:
    """Several lines fit: ask which one (a removal may also go to all of them)."""

    lines: tuple[int, ...]
    change: LineChange


@dataclass(frozen=True)
class NotInOrder:
    what: str


@dataclass(frozen=True)
class NothingFits:
    """A size or choice that none of the ordered items has ("make it large" for a baklava)."""

    what: str


@dataclass(frozen=True)
class UnknownItem:
    unresolved: Unresolved


Outcome = Edited | AskWhich | NotInOrder | NothingFits | UnknownItem | AddItems | ClearCart | Undo


@dataclass(frozen=True)
class _Fit:
    """How a phrase fits a line: the change it means there."""

    index: int
    change: LineChange
    differs: bool = True  # the line is not that way already


def plan_edit(text: str, cart: tuple[CartLine, ...], catalog: Catalog, parser: TextParser, *,
              bare_words: bool = True) -> Outcome | None:
    """What an edit message does to this cart, or None when the message is not an edit of it.

    bare_words False (a question is waiting for its answer): "large", "no, large" or "the large
    one" are not read as edits; "make it large" still is."""
    edit = _read_any(text)
    if isinstance(edit, Change) and not edit.explicit and not bare_words:
        return None
    if edit is None or isinstance(edit, ClearCart | Undo | AddItems):
        return edit
    if isinstance(edit, AddMore):
        return _add_more(edit, cart, catalog, parser)
    if not cart:
        return None
    if isinstance(edit, RemoveItems | SetQuantity):
        change = (LineChange("remove") if isinstance(edit, RemoveItems)
                  else LineChange("quantity", edit.quantity))
        if not edit.what:
            return Edited(apply_to_lines(cart, (len(cart) - 1,), change, catalog))
        return _on_named(edit.what, change, cart, catalog, parser)
    if isinstance(edit, Negate):
        return _negate(edit, cart, catalog, parser)
    if isinstance(edit, Modify):
        return _modify(edit, cart, catalog, parser)
    if isinstance(edit, MakeNamed):
        return _make_named(edit, cart, catalog, parser)
    return _change(edit, cart, catalog, parser)


def _on_named(what: str, change: LineChange, cart: tuple[CartLine, ...], catalog: Catalog,
              parser: TextParser) -> Outcome:
    indexes = lines_named(what, cart, catalog, parser)
    if not indexes:
        return NotInOrder(what)
    if len(indexes) == 1 or (change.kind == "remove" and _says_all(what)):
        return Edited(apply_to_lines(cart, indexes, change, catalog))
    return AskWhich(indexes, change)


def _says_all(what: str) -> bool:
    return re.match(r"^(?:all|both|every)\b", what, re.I) is not None


def lines_named(what: str, cart: tuple[CartLine, ...], catalog: Catalog,
                parser: TextParser) -> tuple[int, ...]:
    """The cart lines a phrase names ("the pepsi", "the large pepsi", "burger", "the wrap")."""
    words = re.sub(r"^(?:all|both|every)\s+(?:of\s+)?(?:the\s+)?", "", what.strip(), flags=re.I)
    ordinal = _ORDINAL_LINE.match(words)
    if ordinal:
        position = _ORDINALS[ordinal.group(1).lower()]
        index = len(cart) - 1 if position == -1 else position
        return (index,) if 0 <= index < len(cart) else ()
    named = products_named(parser.parse(words))
    indexes = tuple(i for i, line in enumerate(cart) if line.product in named)
    if not indexes:  # "the wrap", "the drink": a word of the name or of the category
        indexes = tuple(i for i, line in enumerate(cart)
                        if _word_fits(words, catalog.product(line.product)))
    sized = tuple(i for i in indexes if _names_variant(words, catalog, cart[i]))
    return sized or indexes


_ORDINALS = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3,
             "4th": 3, "fifth": 4, "5th": 4, "last": -1}
_ORDINAL_LINE = re.compile(
    r"^(?:the\s+)?(first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|last)"
    r"(?:\s+(?:one|item|line|thing))?$", re.I)


def _word_fits(words: str, product: Product | None) -> bool:
    if product is None:
        return False
    tokens = [t.rstrip("s") for t in re.findall(r"[a-z]+", words.lower()) if len(t) > 2]
    haystack = " ".join((*product.names(), product.category)).lower()
    return bool(tokens) and all(t in haystack for t in tokens)


def _names_variant(words: str, catalog: Catalog, line: CartLine) -> bool:
    product = catalog.product(line.product)
    variant = product.variant(line.variant) if product else None
    return variant is not None and any(_contains(words, n) for n in variant.names())


def _contains(words: str, name: str) -> bool:
    return re.search(rf"(?<![a-z0-9]){re.escape(name.lower())}(?![a-z0-9])",
                     words.lower()) is not None


def products_named(parsed: ParseResult) -> set[str]:
    """Every product a phrase may name: its lines, and the candidates of an ambiguous mention."""
    named = {line.product for line in parsed.lines}
    for unresolved in parsed.unresolved:
        if unresolved.reason in ("ambiguous", "missing_variant", "unavailable"):
            named.update(unresolved.candidates)
            if unresolved.product:
                named.add(unresolved.product)
    return named


def _add_more(edit: AddMore, cart: tuple[CartLine, ...], catalog: Catalog,
              parser: TextParser) -> Outcome | None:
    change = LineChange("more", edit.quantity)
    if not edit.what:
        return Edited(apply_to_lines(cart, (len(cart) - 1,), change, catalog)) if cart else None
    indexes = lines_named(edit.what, cart, catalog, parser)
    if not indexes:
        return AddItems(f"{edit.quantity} {edit.what}")  # nothing to add to: a new line
    if len(indexes) == 1:
        return Edited(apply_to_lines(cart, indexes, change, catalog))
    return AskWhich(indexes, change)


def _negate(edit: Negate, cart: tuple[CartLine, ...], catalog: Catalog,
            parser: TextParser) -> Outcome | None:
    named = products_named(parser.parse(edit.what))
    if any(line.product in named for line in cart):
        return _on_named(edit.what, LineChange("remove"), cart, catalog, parser)
    return _modify(Modify("no " + edit.what), cart, catalog, parser)


def _modify(edit: Modify, cart: tuple[CartLine, ...], catalog: Catalog,
            parser: TextParser) -> Outcome | None:
    indexes = (lines_named(edit.what, cart, catalog, parser) if edit.what
               else tuple(range(len(cart))))
    if not indexes:
        return NotInOrder(edit.what)
    fits = [fit for i in indexes if (fit := _modifiers_fit(edit.modifiers, cart[i], i, catalog,
                                                           parser)) is not None]
    if not fits:
        # A target was named but the words are no option of it: say so rather than guess.
        return NothingFits(edit.modifiers) if edit.what else None
    return _pick(fits, cart, catalog, correction=False)


def _modifiers_fit(modifiers: str, line: CartLine, index: int, catalog: Catalog,
                   parser: TextParser) -> _Fit | None:
    """Read the words as modifiers of this line's product, by parsing "<product name> <words>"."""
    product = catalog.product(line.product)
    if product is None:
        return None
    words = re.sub(r"^(?:add|put|some)\s+", "", modifiers.strip(), flags=re.I)
    if parser.parse(words).lines:
        return None  # the words order an item of their own ("a cheeseburger with bacon")
    parsed = parser.parse(f"{product.name} {words}")
    if len(parsed.lines) != 1 or parsed.unresolved or parsed.lines[0].product != product.id:
        return None
    found = parsed.lines[0]
    restored = tuple(i.id for i in product.ingredients if i.id in line.removed
                     and re.match(r"^with\b", words, re.I) and _names_item(words, i.names()))
    if not (found.options or found.removed or restored):
        return None  # "with garlic" on a line that has garlic anyway: nothing to change
    change = LineChange("modify", options=tuple((o.id, o.qualifier) for o in found.options),
                        removed=found.removed, restored=restored)
    after = apply_change(line, change, catalog)
    return _Fit(index, change, differs=after != line)


def _names_item(words: str, names: tuple[str, ...]) -> bool:
    return any(_contains(words, name) for name in names)


def _make_named(edit: MakeNamed, cart: tuple[CartLine, ...], catalog: Catalog,
                parser: TextParser) -> Outcome | None:
    """"make the chicken shawarma large": try each split, shortest change first."""
    tokens = edit.words.split()
    for cut in range(len(tokens) - 1, 0, -1):
        what, to = " ".join(tokens[:cut]), " ".join(tokens[cut:])
        if lines_named(what, cart, catalog, parser):
            outcome = _change(Change(_strip_article(to), what), cart, catalog, parser,
                              products=False)
            if outcome is not None:
                return outcome
    return None


def _change(edit: Change, cart: tuple[CartLine, ...], catalog: Catalog,
            parser: TextParser, *, products: bool = True) -> Outcome | None:
    indexes = (lines_named(edit.what, cart, catalog, parser) if edit.what
               else tuple(range(len(cart))))
    if edit.what and not indexes:
        return NotInOrder(edit.what)
    to = re.sub(r"\s+(?:one|size|instead)$", "", edit.to.strip(), flags=re.I)
    fits = [fit for i in indexes
            if (fit := _variant_fit(to, cart[i], i, catalog)
                or _modifiers_fit(to, cart[i], i, catalog, parser)) is not None]
    if fits:
        return _pick(fits, cart, catalog, correction=edit.correction)
    if not products or not (edit.explicit or edit.correction):
        return None  # a bare "coke" is an order, not a change
    return _replace(edit, to, indexes, cart, catalog=catalog, parser=parser)


def _variant_fit(to: str, line: CartLine, index: int, catalog: Catalog) -> _Fit | None:
    product = catalog.product(line.product)
    if product is None:
        return None
    for variant in product.variants:
        if any(to.lower() == name.lower() for name in variant.names()):
            return _Fit(index, LineChange("variant", variant=variant.id),
                        differs=line.variant != variant.id)
    return None


def _pick(fits: list[_Fit], cart: tuple[CartLine, ...], catalog: Catalog, *,
          correction: bool) -> Outcome:
    """One fitting line: change it. Several: a correction goes to the last, else ask."""
    differing = [f for f in fits if f.differs] or fits
    if len(differing) == 1 or correction:
        fit = differing[-1]
        return Edited(apply_to_lines(cart, (fit.index,), fit.change, catalog))
    changes = {f.change for f in differing}
    if len(changes) == 1:
        return AskWhich(tuple(f.index for f in differing), differing[0].change)
    # The words mean different things on different lines: ask about the lines where they mean
    # what they mean on the last of them.
    last = differing[-1].change
    return AskWhich(tuple(f.index for f in differing if f.change == last), last)


def _replace(edit: Change, to: str, indexes: tuple[int, ...], cart: tuple[CartLine, ...], *,
             catalog: Catalog, parser: TextParser) -> Outcome:
    """"change the burger to chicken", "swap the pepsi for a coke": another product."""
    parsed = parser.parse(to)
    line = _single_line(parsed)
    if line is None and edit.what and parsed.unresolved:
        # "chicken" alone is no product, "chicken burger" is; the old item is never the answer.
        old = {cart[i].product for i in indexes}
        for words in (f"{to} {edit.what}", f"{edit.what} {to}"):
            line = _single_line(parser.parse(words))
            if line is not None and line.product not in old:
                break
            line = None
    if line is None and _is_variant_word(to, catalog):
        return NothingFits(to)  # "make it large" when nothing ordered comes in sizes
    if line is None:
        unknown = next(iter(parsed.unresolved), None)
        return UnknownItem(unknown or Unresolved(to, "unknown", closest_products(to, catalog)))
    product = catalog.product(line.product)
    said_size = product is not None and any(
        _names_item(to, v.names()) for v in product.variants if v.id == line.variant)
    first = to.split(maxsplit=1)[0]
    said_count = first not in ("a", "an") and _count(first) is not None
    change = LineChange("replace", line.quantity if said_count else 0,
                        line=CartLine.from_parsed(line), keep_variant=not said_size)
    targets = indexes if edit.what else (len(cart) - 1,)
    if len(targets) > 1:
        return AskWhich(targets, change)
    return Edited(apply_to_lines(cart, targets, change, catalog))


def _is_variant_word(words: str, catalog: Catalog) -> bool:
    return any(words.lower() == name.lower()
               for product in catalog.products for v in product.variants for name in v.names())


def _single_line(parsed: ParseResult) -> ParsedLine | None:
    ambiguous = [u for u in parsed.unresolved if u.reason != "missing_variant"]
    return parsed.lines[0] if len(parsed.lines) == 1 and not ambiguous else None


_CLOSEST_CUTOFF = 75


def closest_products(text: str, catalog: Catalog, limit: int = 3) -> tuple[str, ...]:
    """Products whose names look like the words ("lasagne" -> none, "pepsy" -> Pepsi)."""
    names = [(p.id, name) for p in catalog.products if p.available for name in p.names()]
    found = process.extract(text, [name for _, name in names], scorer=fuzz.WRatio,
                            processor=str.casefold, score_cutoff=_CLOSEST_CUTOFF, limit=limit * 3)
    ids: list[str] = []
    for _, _, position in found:
        if names[position][0] not in ids:
            ids.append(names[position][0])
    return tuple(ids[:limit])
