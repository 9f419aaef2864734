"""What one product accepts around its name: its variants, option choices and ingredients,
indexed as lemma keys so "large", "xl", "black olives", "olives" and "chese" all find them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

from catalog.models import Product
from parsers.index import Key, Lexicon, name_words
from parsers.message import Message, walk
from parsers.normalize import FILLER_WORDS
from parsers.pipeline import FILLER

Kind = Literal["variant", "choice", "ingredient"]
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
# Words of the pack names derived from multipack variants ("330 ml x 24" -> "24 pack").
PACK_WORDS = ("pack", "pk")


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
    head: bool = True  # a partial match on the name's last word ("olives" of "black olives")

    @property
    def kinds(self) -> set[Kind]:
        return {m.kind for m in self.modifiers}


class ModifierIndex:
    """The names of one product's variants, choices and ingredients, as lemma keys."""

    def __init__(self, product: Product, lexicon: Lexicon,
                 product_words: frozenset[int] | set[int] = frozenset()) -> None:
        self.keys: dict[Key, list[Modifier]] = {}
        self.prefixes: set[Key] = set()
        self.partial: dict[int, list[Modifier]] = {}
        self.heads: set[int] = set()  # last words of multi-word modifier names
        self.by_word: dict[int, list[Modifier]] = {}
        self.lexicon = lexicon
        # Variants named by a count of what the product is ("12 eggs" of "Happy Cow Eggs"):
        # the count alone names them ("eggs 12", "a dozen eggs").
        self.counts: dict[int, str] = {}
        product_lemmas = {lexicon.lemma(w) for n in product.names() for w in name_words(n)}
        for modifier, text in _names(product, self._counted(product, product_lemmas)):
            self._add(modifier, text, lexicon)
        self.variant_words = frozenset(
            lemma for key, found in self.keys.items() for lemma in key
            if any(m.kind == "variant" for m in found))
        self.words = frozenset(lemma for key in self.keys for lemma in key)
        # Group and category words ("toppings", "drinks") are filler around this product,
        # unless they also name products ("Burgers" is a category and a word of many names).
        context = [g.group for g in product.options] + [product.category]
        self.context = frozenset(
            lemma for text in context for w in name_words(text)
            if (lemma := lexicon.lemma(w)) is not None and lemma not in product_words)

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
            if len(key) > 1 and lemma == key[-1]:
                self.heads.add(lemma)
            for target in targets:
                listed = target.setdefault(lemma, [])
                if modifier not in listed:
                    listed.append(modifier)

    def _counted(self, product: Product, lemmas: set[int | None]) -> dict[str, int]:
        """Variant ids named '<count> <word of the product name>', with their count."""
        found: dict[str, int] = {}
        for variant in product.variants:
            parts = name_words(variant.name)
            if len(parts) == 2 and parts[0].isdigit() and parts[1].isalpha() \
                    and self.lexicon.lemma(parts[1]) in lemmas:
                found[variant.id] = int(parts[0])
                self.counts.setdefault(int(parts[0]), variant.id)
        return found

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
                return Match(partial, i + span, similarity * PARTIAL_CONFIDENCE, partial=True,
                             head=lemmas[0] in self.heads)
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


def _names(product: Product, counted: dict[str, int]) -> list[tuple[Modifier, str]]:
    found: list[tuple[Modifier, str]] = []
    plain = {tuple(name_words(v.name)) for v in product.variants}
    for variant in product.variants:
        modifier = Modifier("variant", variant.id)
        found += [(modifier, n) for n in (*variant.names(), variant.id.replace("-", " "))]
        size = tuple(name_words(variant.name))
        found += [(modifier, alias) for alias in SIZE_ALIASES.get(size, ())]
        found += [(modifier, alias) for alias in _pack_aliases(size, plain)]
        if variant.id in counted:
            found.append((modifier, str(counted[variant.id])))
    for group in product.options:
        for choice in group.choices:
            found += [(Modifier("choice", choice.id), n)
                      for n in (*choice.names(), choice.id.replace("-", " "))]
    for ingredient in product.ingredients:
        found += [(Modifier("ingredient", ingredient.id), n)
                  for n in (*ingredient.names(), ingredient.id.replace("-", " "))]
    return found


def _pack_aliases(size: tuple[str, ...], plain: set[tuple[str, ...]]) -> list[str]:
    """How people name a multipack "<unit> x <count>": "24 pack", "24pk"; and by its unit
    alone ("size 4" for "size 4 x 40") when no other variant is called that."""
    if len(size) < 3 or size[-2] != "x" or not size[-1].isdigit():
        return []
    count, unit = size[-1], size[:-2]
    found = [f"{count} {word}" for word in PACK_WORDS]
    if unit not in plain:
        found.append(" ".join(unit))
    return found
