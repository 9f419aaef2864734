"""Cart edits typed in free text: "remove the pepsi", "make it 3", "no, large", "change the burger
to chicken", "add extra cheese to the burger", "2 more shawarma", "start over", "undo". Pure.

Two steps. `read_edit` (bot.edit_shapes) recognises the *shape* of an edit from the words alone;
`plan_edit` (here) then places it against the cart (which line, which variant or option, which
product) and says what happens. A message is only claimed when every part of it is accounted
for, so ordinary orders ("2 shawarma and a pepsi", "large pepsi") go on to the order parser
untouched. Only the cart lines an edit names change (bot.line_changes); every other line stays
exactly as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from bot.cart import CartLine
from bot.conversation_model import TextParser
from bot.edit_shapes import (
    AddItems,
    AddMore,
    Change,
    ClearCart,
    Edit,
    MakeNamed,
    Modify,
    Negate,
    RemoveItems,
    SetQuantity,
    Undo,
    read_count,
    read_edit,
    read_possible_edit,
    strip_article,
)
from bot.line_changes import (
    MAX_QUANTITY,
    ChangeKind,
    LineChange,
    apply_change,
    apply_to_lines,
)
from catalog.catalog import Catalog
from catalog.models import Product
from parsers.models import ParsedLine, ParseResult, Unresolved

# The shapes of an edit and the changes to a line live in bot.edit_shapes and bot.line_changes;
# callers may take them from here, with what this module adds.
__all__ = ["MAX_QUANTITY", "AddItems", "AddMore", "AskWhich", "Change", "ChangeKind", "ClearCart",
           "Edit", "Edited", "LineChange", "MakeNamed", "Modify", "Negate", "NotInOrder",
           "NothingFits", "Outcome", "RemoveItems", "SetQuantity", "TextParser", "Undo",
           "UnknownItem", "apply_change", "apply_to_lines", "closest_products", "lines_named",
           "plan_edit", "products_named", "read_edit"]


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
    edit = read_possible_edit(text)
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
            outcome = _change(Change(strip_article(to), what), cart, catalog, parser,
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
    said_count = first not in ("a", "an") and read_count(first) is not None
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
