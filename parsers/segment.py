"""Splitting a message into item chunks around the product names found in it.

Between two product names lies text that belongs partly to the first ("... with extra cheese")
and partly to the second ("... and a large ..."). A quantity always opens a new item; otherwise
the cut is placed where the most words land next to a product that accepts them, preferring a
cut right after a separator. Text after a separator that no neighbour accepts is an orphan: a
possible item of its own, which the caller tries to place or reports.
"""

from __future__ import annotations

from parsers.message import Message
from parsers.modifier_index import ModifierIndex
from parsers.normalize import NOTE_CUES
from parsers.pipeline import MULT, NEG, QTY, QUAL, SEP, WITH

_ONE = frozenset({"a", "an", "another", "single"})
TIMES = frozenset({"x", "×", "*"})
OPENING, CLOSING = frozenset({"(", "["}), frozenset({")", "]"})
_SPLIT_AFTER = frozenset({",", ":", "-", "(", ";", "\n"})
_LIST_JOINERS = frozenset({"and", "or", "&", "nor"})
_VARIANT_BONUS = 0.25  # sizes lean to the front of a name ("large pepsi")
_LIST_BONUS = 0.25  # options lean to the back once a "with"/"no" list is open
_SEP_BONUS = 0.5
_INTRO_PENALTY = 0.5  # "with"/"no" starts a tail far more often than a head


def is_postfix_quantity(message: Message, i: int, hi: int) -> bool:
    """'shawarma 2, pepsi 1': a number right after a name, closed by a separator or the end."""
    units = message.units
    marker = units[i].marker
    if marker is None or marker.label not in (QTY, MULT) or marker.first != i:
        return False
    if marker.label == MULT:
        return True
    times = marker.last - marker.first == 2 and units[i + 1].norm in TIMES  # "shawarma 2x"
    if units[i].norm in _ONE or (marker.last - marker.first > 1 and not times):
        return False
    j = marker.last
    while j < hi and units[j].norm in CLOSING:  # "shawarma (2)"
        j += 1
    return j >= hi or units[j].label == SEP


def _leads(message: Message, lo: int, i: int) -> bool:
    """Is unit i the first of [lo, ...), but for opening brackets ("shawarma (2)")?"""
    return all(message.units[k].norm in OPENING for k in range(lo, i))


def opens_item(message: Message, i: int, hi: int, before: ModifierIndex | None,
               after: ModifierIndex | None) -> bool:
    """Is unit i a quantity that starts a new item (not 'a thin crust', 'two topping')?"""
    marker = message.units[i].marker
    if marker is None or marker.label != QTY or marker.first != i:
        return False
    for index in (after, before):
        if index is not None and index.match_word(message, i, hi) is not None:
            return False  # '2 12" margheritas', 'rice 5 kg': a size of the item, not a count
    j = marker.last
    while j < hi:
        unit = message.units[j]
        if any(index is not None and index.is_context(message, j) for index in (after, before)):
            return False  # "two topping pizza" counts toppings
        if unit.marker is not None or (unit.is_word and not unit.filler):
            break
        j += 1
    if j >= hi:
        return True
    if not message.is_content(j) and message.units[j].label != QTY:
        return False  # "do me a favor and ...": nothing is being counted
    if before is not None:
        found = before.match_word(message, j, hi)
        if found is not None and "variant" not in found.kinds:
            return False  # "with mushrooms and a thin crust": an option of the item before
    return True


def split_region(message: Message, lo: int, hi: int, before: ModifierIndex | None,
                 after: ModifierIndex) -> int:
    """Where the words between two names stop belonging to `before` and start `after`."""
    units = message.units
    quantities = [i for i in range(lo, hi) if opens_item(message, i, hi, before, after)
                  and not (before is not None and _leads(message, lo, i)
                               and is_postfix_quantity(message, i, hi))]
    if quantities:
        return quantities[-1]
    # "chips 150g x 5 and nachos": a multiplier closes the item before it
    lo_cut = max((m.last for i in range(lo, hi) if (m := units[i].marker) is not None
                  and m.label == MULT and before is not None), default=lo)
    tail = [0.0] * (hi - lo)
    head = [0.0] * (hi - lo)
    list_open = False
    for offset, i in enumerate(range(lo, hi)):
        label = units[i].label
        fits_after = after.compatible(message, i)
        if before is None:
            tail[offset] = -1.0 if fits_after else 0.0
        elif before.compatible(message, i):
            variant = before.is_variant_word(message, i)
            tail[offset] = 1.0 + (_LIST_BONUS if list_open and not variant else 0.0)
        if fits_after:
            head[offset] = 1.0 + (_VARIANT_BONUS if after.is_variant_word(message, i) else 0.0)
        marker = units[i].marker
        if marker is not None and label in (WITH, NEG, QUAL):
            list_open = True
            if before is not None and label != QUAL and marker.first == i:
                head[offset] -= _INTRO_PENALTY
    best_k, best = lo, float("-inf")
    tail_sum, head_sum = 0.0, sum(head)
    for k in range(lo, hi + 1):
        if k > lo:
            tail_sum += tail[k - lo - 1]
            head_sum -= head[k - lo - 1]
        if k < lo_cut:
            continue
        marker = units[k].marker if k < hi else None
        if marker is not None and marker.first < k:
            continue  # never cut inside "hold the" or "as well as"
        score = tail_sum + head_sum
        if k > lo and units[k - 1].label == SEP:
            score += _SEP_BONUS
        if score > best + 1e-9:
            best_k, best = k, score
    return best_k


def split_clauses(message: Message, lo: int, hi: int, index: ModifierIndex,
                  quantity: int) -> list[int]:
    """'2 shawarmas, one large, one without garlic': where the clauses that share out the
    line's quantity start. Empty unless they add up to at most the line's quantity."""
    units = message.units
    starts: list[int] = []
    total = 0
    for i in range(lo, hi):
        marker = units[i].marker
        if marker is None or marker.label != QTY or marker.first != i \
                or not isinstance(marker.value, int) or units[i].norm in _ONE \
                or index.match_word(message, i, hi) is not None:  # "1kg" is a size
            continue
        before = _previous_meaningful(message, lo, i)
        opens = (before is None or units[before].norm in _SPLIT_AFTER) if not starts \
            else (before is not None and units[before].label == SEP)
        if not opens or not _describes(message, marker.last, hi, index):
            continue
        starts.append(i)
        total += marker.value
    return starts if quantity >= 2 and total <= quantity else []


def _previous_meaningful(message: Message, lo: int, i: int) -> int | None:
    for j in range(i - 1, lo - 1, -1):
        unit = message.units[j]
        if unit.marker is not None or (unit.is_word and not unit.filler) or unit.norm in \
                _SPLIT_AFTER:
            return j
    return None


def _describes(message: Message, j: int, hi: int, index: ModifierIndex) -> bool:
    """Does a clause go on with a size or a with/no/extra (and not straight with an option,
    which would be 'and a thin crust')?"""
    while j < hi and (not message.units[j].is_word or message.units[j].filler) \
            and message.units[j].marker is None:
        j += 1
    if j >= hi:
        return False
    if message.units[j].label in (WITH, NEG, QUAL):
        return True
    found = index.match_word(message, j, hi)
    return found is not None and "variant" in found.kinds


def tail_stop(message: Message, lo: int, hi: int, index: ModifierIndex, quantity: int) -> int:
    """Where the text after a name stops describing it: a new quantity, or after a separator
    a word the product does not know (it may be another item)."""
    units = message.units
    shares = set(split_clauses(message, lo, hi, index, quantity))
    refusing = False  # inside "without olives and feta" every listed word is refused
    inside = lo  # the end of the last modifier name read: "size 4" holds no new item at "4"
    for i in range(lo, hi):
        unit = units[i]
        if i >= inside and unit.is_word and unit.marker is None:
            found = index.match(message, i, hi)
            if found is not None and not found.partial:
                inside = found.last
        if i >= inside and i not in shares and opens_item(message, i, hi, index, None) \
                and not (_leads(message, lo, i) and is_postfix_quantity(message, i, hi)):
            return i
        if unit.label in (NEG, WITH, QUAL):
            refusing = unit.label == NEG
        if unit.label != SEP or (refusing and unit.norm in _LIST_JOINERS):
            continue
        j = i + 1
        while j < hi and (units[j].label == SEP or not units[j].is_word
                          or (units[j].filler and units[j].marker is None)):
            j += 1
        if j < hi and message.is_content(j) and units[j].norm not in NOTE_CUES \
                and index.match_word(message, j, hi) is None and not index.is_context(message, j) \
                and not _describes_option(message, j, hi, index):
            return j
    return hi


def _describes_option(message: Message, j: int, hi: int, index: ModifierIndex) -> bool:
    """'and black olives' where only 'olives' is known: words leading into an option."""
    while j < hi and message.is_content(j) and index.match_word(message, j, hi) is None:
        j += 1
    if j >= hi:
        return False
    found = index.match_word(message, j, hi)
    return found is not None and not found.partial


def negation_before(message: Message, lo: int, first: int) -> int | None:
    """'no pepsi': where the negation of a name starts, if the name is negated."""
    units = message.units
    for i in range(first - 1, lo - 1, -1):
        unit = units[i]
        if unit.label == NEG and unit.marker is not None:
            return unit.marker.first
        if (unit.is_word and not unit.filler) or unit.label in (SEP, QTY, WITH, QUAL):
            return None
    return None
