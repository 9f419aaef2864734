"""What one product accepts around its name: variants, option choices, ingredients, and the
reader that turns the words before/after a product ("large", "with extra cheese, no garlic")
into a variant, chosen options, removals, notes and problems.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from catalog.models import Product
from parsers.index import Key, Lexicon, name_words
from parsers.message import Message, walk
from parsers.models import ChosenOption, Qualifier, Unresolved
from parsers.normalize import FILLER_WORDS, NOTE_CUES
from parsers.pipeline import FILLER, MULT, NEG, QTY, QUAL, RESET, SEP, WITH

Kind = Literal["variant", "choice", "ingredient"]
_SCOPE_ENDS = frozenset({",", "\n", ";", ".", "!", "?", "|"})
PARTIAL_CONFIDENCE = 0.85  # "olives" for "black olives": right word, not the whole name
_MARKER_WORDS = frozenset({"extra", "no", "light", "double", "with", "without", "add", "more"})
# Short forms people type for sizes; added to a variant whose name is exactly that size.
SIZE_ALIASES: dict[tuple[str, ...], tuple[str, ...]] = {
    ("large",): ("l", "lg", "lrg", "big"),
    ("medium",): ("m", "med", "md"),
    ("small",): ("s", "sm", "sml"),
    ("regular",): ("reg", "normal", "standard"),
    ("extra", "large"): ("xl", "x large"),
}


@dataclass(frozen=True, slots=True)
class Modifier:
    kind: Kind
    id: str


class Match(NamedTuple):
    """Modifiers named by units [i, last); several of one kind means ambiguous."""

    modifiers: list[Modifier]
    last: int
    confidence: float
    partial: bool

    @property
    def kinds(self) -> set[Kind]:
        return {m.kind for m in self.modifiers}


class ModifierIndex:
    """The names of one product's variants, choices and ingredients, as lemma keys."""

    def __init__(self, product: Product, lexicon: Lexicon) -> None:
        self.keys: dict[Key, list[Modifier]] = {}
        self.prefixes: set[Key] = set()
        self.partial: dict[int, list[Modifier]] = {}
        self.by_word: dict[int, list[Modifier]] = {}
        self.lexicon = lexicon
        for modifier, text in _names(product):
            self._add(modifier, text, lexicon)
        self.variant_words = frozenset(
            lemma for key, found in self.keys.items() for lemma in key
            if any(m.kind == "variant" for m in found))
        self.words = frozenset(lemma for key in self.keys for lemma in key)
        context = [g.group for g in product.options] + [product.category]
        self.context = frozenset(
            lemma for text in context for w in name_words(text)
            if (lemma := lexicon.lemma(w)) is not None)

    def _add(self, modifier: Modifier, text: str, lexicon: Lexicon) -> None:
        key = tuple(lexicon.forms[w] for w in name_words(text) if w in lexicon.forms)
        if not key:
            return
        found = self.keys.setdefault(key, [])
        if modifier not in found:
            found.append(modifier)
        for n in range(1, len(key) + 1):
            self.prefixes.add(key[:n])
        for word, lemma in zip(name_words(text), key, strict=False):
            if word in FILLER_WORDS or word in _MARKER_WORDS:
                continue
            targets = [self.by_word, self.partial] if len(key) > 1 else [self.by_word]
            for target in targets:
                listed = target.setdefault(lemma, [])
                if modifier not in listed:
                    listed.append(modifier)

    def match(self, message: Message, i: int, hi: int) -> Match | None:
        """The longest modifier name starting at unit i, else a partial one ('olives')."""
        best: Match | None = None
        for found in walk(message, i, 6, hi, self.prefixes.__contains__):
            modifiers = self.keys.get(found.key)
            if modifiers and (best is None or (found.last, found.confidence) > best[1:3]):
                best = Match(modifiers, found.last, found.confidence, partial=False)
        if best is not None:
            return best
        for lemmas, similarity, span in message.readings[i]:
            partial = self.partial.get(lemmas[0]) if len(lemmas) == 1 else None
            if partial and i + span <= hi:
                return Match(partial, i + span, similarity * PARTIAL_CONFIDENCE, partial=True)
        return None

    def match_word(self, message: Message, i: int, hi: int) -> Match | None:
        """`match`, but a rule word ("leave off the", "extra") beats a partial or shorter name."""
        unit = message.units[i]
        found = self.match(message, i, hi) if unit.is_word else None
        marker = unit.marker
        if found is None or marker is None or marker.label == FILLER:
            return found
        if found.partial or found.last < marker.last:
            return None
        return found

    def compatible(self, message: Message, i: int) -> bool:
        return any(lemma in self.words for lemma in message.lemmas(i))

    def is_variant_word(self, message: Message, i: int) -> bool:
        return any(lemma in self.variant_words for lemma in message.lemmas(i))

    def is_context(self, message: Message, i: int) -> bool:
        return any(lemma in self.context for lemma in message.lemmas(i))


def _names(product: Product) -> list[tuple[Modifier, str]]:
    found: list[tuple[Modifier, str]] = []
    for variant in product.variants:
        modifier = Modifier("variant", variant.id)
        found += [(modifier, n) for n in (*variant.names(), variant.id.replace("-", " "))]
        size = tuple(name_words(variant.name))
        found += [(modifier, alias) for alias in SIZE_ALIASES.get(size, ())]
    for group in product.options:
        for choice in group.choices:
            found += [(Modifier("choice", choice.id), n)
                      for n in (*choice.names(), choice.id.replace("-", " "))]
    for ingredient in product.ingredients:
        found += [(Modifier("ingredient", ingredient.id), n)
                  for n in (*ingredient.names(), ingredient.id.replace("-", " "))]
    return found


@dataclass
class Reading:
    """What the words around one product said about it."""

    quantity: int | None = None
    postfix_quantity: int | None = None
    variant: str | None = None
    options: list[ChosenOption] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[Unresolved] = field(default_factory=list)
    confidence: float = 1.0
    used: list[int] = field(default_factory=list)  # units that belong to the line (for span)
    negated: bool = False  # "no pepsi": the product itself was refused


@dataclass
class _State:
    remove: bool = False
    qualifier: Qualifier | None = None
    consumed: bool = True  # a modifier was read since the last "no"
    context: str | None = None  # the last rule word: NEG, WITH, QUAL
    context_start: int = -1
    run: list[int] = field(default_factory=list)


class ModifierReader:
    """Reads units [lo, hi) around one product; `head` says they come before the name."""

    def __init__(self, message: Message, index: ModifierIndex, product: Product) -> None:
        self.message = message
        self.index = index
        self.product = product

    def read(self, lo: int, hi: int, reading: Reading, head: bool) -> None:
        units = self.message.units
        state = _State()
        i = lo
        while i < hi:
            unit = units[i]
            found = self.index.match_word(self.message, i, hi)
            if found is not None and found.partial and found.last < hi:
                following = self.index.match_word(self.message, found.last, hi)
                if following is not None and not following.partial:
                    i = found.last  # "black beans": an adjective of the next name, not "olives"
                    continue
            if found is not None:
                self._flush(state, reading)
                self._apply(found.modifiers, state, reading, i, found.last)
                reading.confidence = min(reading.confidence, found.confidence)
                state.qualifier, state.consumed = None, True
                i = found.last
                continue
            marker = unit.marker
            if marker is None or marker.label == FILLER:
                if self.message.is_content(i) and not self.index.is_context(self.message, i):
                    state.run.append(i)
                elif state.run and unit.is_word:
                    state.run.append(i)  # filler inside a note ("cut it in half")
                i += 1
                continue
            self._flush(state, reading)
            self._rule(marker.label, marker.value, range(marker.first, marker.last), state,
                       reading, head=head, at_start=marker.first == lo)
            i = max(marker.last, i + 1)
        self._flush(state, reading)

    def _rule(self, label: str, value: int | str | None, span: range, state: _State,
              reading: Reading, *, head: bool, at_start: bool) -> None:
        first = span[0]
        if label == QTY and isinstance(value, int):
            if head and reading.quantity is None and not self._counts_options(span):
                reading.quantity = value
                reading.used.extend(span)
            elif not head and at_start and reading.postfix_quantity is None:
                reading.postfix_quantity = value  # "shawarma 2," (segmentation allowed it)
                reading.used.extend(span)
        elif label == MULT and isinstance(value, int):
            reading.postfix_quantity = value
            reading.used.extend(span)
        elif label == NEG:
            state.remove, state.consumed, state.qualifier = True, False, None
            state.context, state.context_start = NEG, first
        elif label in (WITH, QUAL):
            if state.consumed:
                state.remove = False
            if label == QUAL and value in ("extra", "light", "double"):
                state.qualifier = value  # type: ignore[assignment]
            state.context, state.context_start = label, first
        elif label == RESET:
            state.remove, state.qualifier, state.context = False, None, None
        elif label == SEP:
            state.qualifier = None
            if self.message.units[first].norm in _SCOPE_ENDS:
                state.remove = False  # "no pickles, medium please": a comma ends the "no"

    def _counts_options(self, span: range) -> bool:
        """'two topping pizza': the number counts toppings, not pizzas."""
        after = span[-1] + 1
        return after < len(self.message.units) and self.index.is_context(self.message, after)

    def _apply(self, modifiers: list[Modifier], state: _State, reading: Reading,
               first: int, last: int) -> None:
        order: tuple[Kind, ...] = (("ingredient", "choice", "variant") if state.remove
                                   else ("variant", "choice", "ingredient"))
        kind = next(k for k in order if any(m.kind == k for m in modifiers))
        ids = list(dict.fromkeys(m.id for m in modifiers if m.kind == kind))
        text = self.message.span_text(first, last)
        if len(ids) > 1:
            reading.problems.append(self._problem(text, "ambiguous", ids, first, last))
            return
        reading.used.extend(range(first, last))
        if state.context_start >= 0 and state.context in (NEG, QUAL, WITH):
            reading.used.append(state.context_start)
        chosen = ids[0]
        if kind == "variant":
            if state.remove and not state.consumed:
                return  # "not the large" says what they do not want, not what they do
            reading.variant = reading.variant or chosen
        elif state.remove:
            if chosen not in reading.removed:
                reading.removed.append(chosen)
        elif kind == "choice":
            if all(o.id != chosen for o in reading.options):
                reading.options.append(ChosenOption(chosen, state.qualifier))
        elif state.qualifier is not None:
            reading.notes.append(f"{state.qualifier} {text}")  # "extra garlic": no such option

    def _flush(self, state: _State, reading: Reading) -> None:
        run, state.run = state.run, []
        units = self.message.units
        while run and (units[run[-1]].filler or not units[run[-1]].is_word):
            run.pop()
        if not run:
            return
        first, last = run[0], run[-1] + 1
        starts_at_rule = state.context in (NEG, QUAL, WITH) and state.context_start >= 0
        if starts_at_rule and not self._between_content(state.context_start, first):
            first = state.context_start
        text = self.message.span_text(first, last)
        cue = any(units[i].norm in NOTE_CUES for i in run)
        candidates = self._candidates(run)
        reading.used.extend(range(first, last))
        if candidates and not cue:
            reading.problems.append(self._problem(text, "unknown", candidates, first, last))
        elif state.context in (WITH, QUAL) and not state.remove and not cue:
            reading.problems.append(self._problem(text, "unknown", [], first, last))
        else:
            reading.notes.append(text)

    def _between_content(self, lo: int, hi: int) -> bool:
        marker = self.message.units[lo].marker
        start = marker.last if marker is not None else lo + 1
        return any(self.message.is_content(i) or self.message.units[i].label == SEP
                   for i in range(start, hi))

    def _candidates(self, run: list[int]) -> list[str]:
        """Modifiers the leftover words might have meant: shared words or one more typo."""
        found: dict[str, None] = {}
        for i in run:
            unit = self.message.units[i]
            if not unit.is_word or unit.filler:
                continue
            lemmas = list(self.message.lemmas(i))
            lemmas += [lemma for lemma, _sim in self.index.lexicon.near(unit.norm)]
            for lemma in lemmas:
                for modifier in self.index.by_word.get(lemma, ()):
                    found[modifier.id] = None
        return list(found)[:5]

    def _problem(self, text: str, reason: Literal["ambiguous", "unknown"], candidates: list[str],
                 first: int, last: int) -> Unresolved:
        span = (self.message.units[first].start, self.message.units[last - 1].end)
        return Unresolved(text, reason, tuple(candidates), span)
