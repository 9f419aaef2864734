"""The catalog's name index: a word lexicon with plural and typo lookup, and product name keys.

Lookups cost what the message costs, not what the catalog costs: a message word is resolved with
dictionary probes (exact form, plural form, then deletion neighbours for typos, verified with
rapidfuzz), and a run of resolved words is looked up as a tuple key. Only a handful of catalog
words are ever compared with rapidfuzz for one message word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from catalog.models import Named, Product
from parsers.normalize import (
    NO_FUZZ,
    SYNONYMS,
    max_typos,
    numerals,
    plural_forms,
    singular_forms,
    words,
)

Key = tuple[int, ...]
# One reading of a message word: (lemmas, similarity 0..1, how many units it spans). Usually one
# lemma over one unit; "cocacola" reads as two lemmas, "cheese burger" as one over two units.
Reading = tuple[Key, float, int]

# Names are matched without their connectors, so "fish & chips" and "fish and chips" agree.
CONNECTORS = frozenset({"and", "n", "with"})
MAX_READINGS = 3  # typo readings kept per word; more would only multiply look-ups
_CACHE_LIMIT = 50_000
_SHORT = 5  # words up to this long are only corrected when their first letter is right
_ASCII_WORD = re.compile(r"[a-z]+|[0-9]+")


def name_words(text: str) -> list[str]:
    """The words of a catalog name that matter for matching."""
    if text.isascii() and "'" not in text:  # the common case, kept fast for big catalogs
        found = _ASCII_WORD.findall(text.lower())
        kept = [w for w in found if w not in CONNECTORS]
        return kept or found
    if "'" in text or "’" in text:
        text = text.replace("’", "'").replace("'s ", " ")
        text = (text[:-2] if text.endswith("'s") else text).replace("'", "")
    found = words(text)
    kept = [w for w in found if w not in CONNECTORS]
    return kept or found


def _deletes(word: str, depth: int) -> set[str]:
    """All strings reachable from `word` by removing up to `depth` characters."""
    found = {word}
    layer = {word}
    for _ in range(depth):
        layer = {w[:i] + w[i + 1:] for w in layer if len(w) > 2 for i in range(len(w))}
        found |= layer
    return found


class Lexicon:
    """Every word the catalog uses, grouped into lemmas (pepper/peppers), with typo lookup."""

    def __init__(self, vocabulary: Iterable[str]) -> None:
        vocab = sorted(set(vocabulary))
        parent = list(range(len(vocab)))

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        owner: dict[str, int] = {w: i for i, w in enumerate(vocab)}
        for i, word in enumerate(vocab):
            for form in plural_forms(word) | singular_forms(word) | numerals(word):
                other = owner.setdefault(form, i)
                if other != i:
                    parent[find(other)] = find(i)
        self.words: tuple[str, ...] = tuple(vocab)
        self.forms: dict[str, int] = {form: find(i) for form, i in owner.items()}
        for word, meaning in SYNONYMS:
            if word not in self.forms and meaning in self.forms:
                for form in {word} | plural_forms(word):
                    self.forms.setdefault(form, self.forms[meaning])
        self._deleted: dict[str, list[int]] = {}
        for i, word in enumerate(vocab):
            if len(word) >= 3 and word.isalpha():
                for variant in _deletes(word, 2 if len(word) >= 4 else 1):
                    self._deleted.setdefault(variant, []).append(i)
        self._cache: dict[str, tuple[tuple[Key, float], ...]] = {}

    def lemma(self, word: str) -> int | None:
        """The lemma of a word spelled exactly (up to plural) as in the catalog."""
        found = self.forms.get(word)
        if found is not None:
            return found
        for form in singular_forms(word):
            found = self.forms.get(form)
            if found is not None:
                return found
        return None

    def readings(self, word: str) -> tuple[tuple[Key, float], ...]:
        """(lemmas, similarity) pairs for a message word: exact, else two joined catalog words
        ("cocacola"), else close typos."""
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        exact = self.lemma(word)
        if exact is not None:
            found: tuple[tuple[Key, float], ...] = (((exact,), 1.0),)
        elif word in NO_FUZZ or not word.isalpha():
            found = ()  # never "correct" grammar words into catalog words ("like" -> "lime")
        else:
            joined = self._split(word)
            typos = self._typos(word, max_typos(len(word)))
            found = ((joined, 1.0),) if joined else tuple(((lemma,), sim) for lemma, sim in typos)
        if len(self._cache) > _CACHE_LIMIT:
            self._cache.clear()
        self._cache[word] = found
        return found

    def _split(self, word: str) -> Key:
        """'cheeseburger' -> (cheese, burger) when both halves are catalog words."""
        for cut in range(3, len(word) - 2):
            first, second = self.lemma(word[:cut]), self.lemma(word[cut:])
            if first is not None and second is not None:
                return (first, second)
        return ()

    def near(self, word: str) -> tuple[tuple[int, float], ...]:
        """Looser than `readings`: one more edit allowed; for suggestions, never for matches."""
        if not word.isalpha() or len(word) < 3 or word in NO_FUZZ:
            return ()
        return self._typos(word, min(max_typos(len(word)) + 1, 2))

    def _typos(self, word: str, limit: int) -> tuple[tuple[int, float], ...]:
        if limit <= 0:
            return ()
        candidates: set[int] = set()
        for variant in _deletes(word, limit):
            candidates.update(self._deleted.get(variant, ()))
        scored: list[tuple[int, float, int]] = []
        for i in candidates:
            target = self.words[i]
            if len(word) <= _SHORT and target[0] != word[0]:
                continue  # short words keep their first letter: "wings" is not "rings"
            distance = OSA.distance(word, target, score_cutoff=limit)
            if distance <= limit:
                scored.append((distance, -fuzz.ratio(word, target), i))
        scored.sort()
        best = [s for s in scored if s[0] == scored[0][0]] if scored else []
        found: dict[int, float] = {}
        for _distance, negative_ratio, i in best[:MAX_READINGS]:
            lemma = self.forms[self.words[i]]
            found.setdefault(lemma, -negative_ratio / 100)
        return tuple(found.items())


def name_forms(product: Product) -> list[tuple[str, ...]]:
    """The word sequences a customer may use for a product: its name, its aliases, and its id
    when that reads as words."""
    forms = [tuple(name_words(name)) for name in product.names()]
    id_words = tuple(product.id.replace("_", "-").split("-"))
    if all(w.isalpha() and len(w) >= 3 for w in id_words):
        forms.append(id_words)
    return [form for form in dict.fromkeys(forms) if form]


class ProductIndex:
    """Lemma-tuple keys of every product name, plus its proper sub-sequences (for 'shawarma')."""

    def __init__(self, forms: list[list[tuple[str, ...]]], lexicon: Lexicon) -> None:
        self.full: dict[Key, list[int]] = {}  # whole names -> products (several: ambiguous)
        self.partial: dict[Key, list[int]] = {}
        self.heads: set[int] = set()  # last words of names: "shawarma", "pizza", "fries"
        self.max_len = 1
        self.sizes: tuple[int, ...] = tuple(len(f[0]) if f else 0 for f in forms)
        lemma = lexicon.forms
        for number, product_forms in enumerate(forms):
            for form in product_forms:
                key = tuple(lemma[w] for w in form)
                self.heads.add(key[-1])
                self.max_len = max(self.max_len, len(key))
                named = self.full.setdefault(key, [])
                if number not in named:
                    named.append(number)
                for sub in _sub_keys(key):
                    found = self.partial.setdefault(sub, [])
                    if not found or found[-1] != number:
                        found.append(number)

    def prefix(self, key: Key) -> bool:
        """Can `key` still grow into a name? (Every prefix of a name is one of its sub-keys.)"""
        return key in self.partial or key in self.full


def _sub_keys(key: Key) -> Iterator[Key]:
    size = len(key)
    for length in range(1, size):
        for start in range(size - length + 1):
            yield key[start:start + length]


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The words the index will hold, and those of them that modifier names use."""

    words: set[str]
    modifier_words: set[str]


def vocabulary(products: Iterable[Product], forms: Iterable[list[tuple[str, ...]]],
               extra: Iterable[str] = ()) -> Vocabulary:
    """Every word of every name the index will hold."""
    found: set[str] = set(extra)
    for product_forms in forms:
        for form in product_forms:
            found.update(form)
    modifier_words: set[str] = set()
    seen: set[tuple[str, str, tuple[str, ...]]] = set()
    context_seen: set[str] = set()
    for product in products:
        for text in (product.category, *(g.group for g in product.options)):
            if text not in context_seen:  # "toppings", "drinks": filler around the product
                context_seen.add(text)
                found.update(name_words(text))
        named: list[Named] = [*product.variants, *product.ingredients]
        for group in product.options:
            named += group.choices
        for item in named:
            # Big catalogs repeat the same few sizes and toppings on every product.
            signature = (item.id, item.name, item.aliases)
            if signature not in seen:
                seen.add(signature)
                for text in (item.id.replace("-", " "), item.name, *item.aliases):
                    modifier_words.update(name_words(text))
    found |= modifier_words
    return Vocabulary(found, modifier_words)
