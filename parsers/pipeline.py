"""The spaCy side: a blank English tokenizer plus rule matchers that label order vocabulary.

A message becomes a list of `Unit`s (word pieces and meaningful punctuation, emoji dropped), each
carrying the `Marker` that covers it, if any: quantities, qualifiers, negation, "with",
separators and filler phrases. Product and option names are *not* recognised here; that is the
catalog index's job, and a name always wins over a marker it overlaps ("mac and cheese").
"""

from __future__ import annotations

import itertools
import re
import threading
from dataclasses import dataclass
from typing import Any

import spacy
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc
from spacy.util import compile_infix_regex, compile_prefix_regex, compile_suffix_regex

from parsers.normalize import (
    FILLER_WORDS,
    MAX_QUANTITY,
    TENS,
    UNITS,
    fold,
    is_symbol,
    number_value,
    word_spans,
)

# Marker labels. QTY/MULT carry an int, QUAL carries the qualifier name.
QTY, MULT, QUAL, NEG, WITH, SEP, RESET, FILLER = (
    "QTY", "MULT", "QUAL", "NEG", "WITH", "SEP", "RESET", "FILLER")
# What spaCy splits off apostrophe-less contractions; as words they would read as sizes.
_GLUED_CLITICS = frozenset({"d", "m", "s", "ve", "ll", "re", "nt"})
_VOCAB_LIMIT = 500_000  # strings in spaCy's vocabulary before the pipeline is rebuilt


@dataclass(frozen=True, slots=True)
class Marker:
    """A matched rule over units [first, last)."""

    label: str
    value: int | str | None
    first: int
    last: int


@dataclass(slots=True)
class Unit:
    """A word piece or a meaningful punctuation mark, with its place in the original text."""

    index: int
    text: str
    norm: str
    start: int
    end: int
    is_word: bool
    marker: Marker | None = None

    @property
    def filler(self) -> bool:
        return self.norm in FILLER_WORDS

    @property
    def label(self) -> str | None:
        return self.marker.label if self.marker is not None else None


# Token-attribute rules (spaCy Matcher) are kept to the few that need LIKE_NUM; every fixed word
# list goes to the PhraseMatcher, which is hash-based and an order of magnitude cheaper per call.
_NUM: dict[str, Any] = {"LIKE_NUM": True}
# LOWER, not ORTH: "X2" is typed as often as "x2" (phones capitalise, so does caps lock).
_TIMES: dict[str, Any] = {"LOWER": {"IN": ["x", "×", "*"]}}
_PATTERNS: dict[str, list[list[dict[str, Any]]]] = {
    QTY: [[_NUM], [_NUM, {"LOWER": "dozen"}], [_NUM, _TIMES]],
    MULT: [[_TIMES, _NUM]],
    SEP: [[{"IS_SPACE": True}]],  # kept only when the space holds a line break
}
_WORDS: dict[str, tuple[str, ...]] = {
    QTY: ("a", "an", "another", "single", "one more", "a couple", "couple", "a couple of",
          "couple of", "a pair of", "pair of", "half a dozen", "half dozen", "a dozen",
          "one dozen", *(f"{t}{sep}{u}" for t in TENS for u in list(UNITS)[1:10]
                         for sep in (" ", "-"))),
    NEG: ("no", "not", "without", "w/o", "w / o", "skip", "minus", "avoid", "remove",
          "removing", "exclude", "excluding", "except", "sans", "n't", "n’t", "nt", "never", "nix",
          "hold", "hold the", "hold on", "hold off", "hold off on", "hold any", "leave off",
          "leave out", "leave off the", "leave out the", "take off", "take out", "take off the",
          "take out the", "no more", "none of the"),
    WITH: ("with", "w/", "w /", "add", "adding", "include", "including", "topped with", "put",
           "along with", "together with", "and with", "make it", "make them", "make that",
           "make those",
           *(f"{who}{aux} {verb}" for who in ("i", "we") for aux in ("", " 'd", " would", " 'll",
                                                                   " will", " do")
             for verb in ("want", "like", "love", "need", "prefer", "take", "have"))),
    SEP: ("and", "&", ",", "+", ";", "also", "plus", "or", "then", ".", "!", "?", "|", "/",
          "as well as", "and then", "and also", "n", "'n'"),
    RESET: ("but", "though", "however"),
}
_QUALIFIERS: dict[str, tuple[str, ...]] = {
    "extra": ("extra", "xtra", "more", "additional", "addl", "heavy", "triple", "lots of",
              "a lot of", "a lot", "plenty of", "loads of", "a whole lot of", "heavy on",
              "heavy on the", "go heavy on", "go heavy on the", "some extra", "a bunch of"),
    "double": ("double", "twice", "dbl"),
    "light": ("light", "lite", "less", "little", "a little", "a little bit of", "a bit of",
              "a bit", "a tiny bit of", "just a little", "easy on", "easy on the", "go easy on",
              "go easy on the", "light on", "light on the", "go light on", "go light on the",
              "not much", "not a lot of", "a drizzle of", "a touch of", "a dash of"),
}
_FILLER_PHRASES = (
    "have a great day", "have a nice day", "have a good day", "have a good one",
    "have a great evening", "have a nice evening", "have a good night", "thank you",
    "thanks a lot", "thanks a bunch", "thank you so much", "that's all", "that is all",
    "that's it", "that is it", "that will be all", "all set", "a lot", "for a while",
    "in a bit", "in a minute", "in a hurry", "as soon as possible", "at a time",
    "how are you", "as well", "for me", "for us", "on it", "on them", "on there", "on top", "in it",
    "in that", "a great", "an order", "a rush order", "an order of", "a order", "a rush",
)
_GLUED_TIMES = re.compile(r"^[x×*]?(\d+)[x×*]?$")


def _quantity(texts: list[str]) -> int | None:
    """The count a matched quantity phrase stands for ("half a dozen" -> 6), if any."""
    words = [_GLUED_TIMES.sub(r"\1", fold(t)) for t in texts]
    words = [w for w in words if w not in {"-", "of", "x", "×", "*"}]
    if not words:
        return None
    if words[-1] == "more":
        return 1
    if words[0] in {"a", "an", "another", "single"} and len(words) == 1:
        return 1
    if words[-1] in {"couple", "pair"}:
        return 2
    if words[-1] == "dozen":
        head = words[0] if len(words) > 1 else "one"
        count = 1 if head in {"a", "an", "one"} else number_value(head)
        if count is None:
            return 6 if head == "half" else None
        return count * 12
    values = [number_value(w) for w in words]
    if any(v is None for v in values):
        return None
    total = sum(v for v in values if v is not None)
    return total if 0 < total <= MAX_QUANTITY else None


class Pipeline:
    """spaCy blank("en") + Matcher/PhraseMatcher; turns text into labelled units."""

    def __init__(self) -> None:
        # spaCy's tokenizer and vocab grow caches while they run; serialise access to them.
        self._lock = threading.Lock()
        self._build()

    def _build(self) -> None:
        nlp: Any = spacy.blank("en")
        # "2shawarma" -> "2" "shawarma": the quantity is glued on in quick chat typing.
        # "x2" -> "x" "2" and "2x" -> "2" "x" so that one Matcher rule reads every multiplier.
        prefixes = [*nlp.Defaults.prefixes, r"\d{1,3}(?=[^\W\d_]{3,})", r"[xX×*](?=\d{1,3}$)"]
        suffixes = [*nlp.Defaults.suffixes, r"(?<=\d)[xX×*]$"]
        # "pepsi,3 fries", "wrap+2pepsi", "fries&coke": a separator typed without spaces still
        # separates, when a letter sits on one side ("1,000" and "2+2" stay as they were).
        infixes = [*nlp.Defaults.infixes,
                   r"(?<=[^\W\d_])[,+&](?=\w)", r"(?<=\w)[,+&](?=[^\W\d_])",
                   r"(?<=[,+&])\d{1,3}(?=[^\W\d_]{3,})"]  # "+2pepsi": the glued quantity
        tokenizer: Any = nlp.tokenizer
        tokenizer.prefix_search = compile_prefix_regex(prefixes).search
        tokenizer.suffix_search = compile_suffix_regex(suffixes).search
        tokenizer.infix_finditer = compile_infix_regex(infixes).finditer
        self._nlp = nlp
        self._matcher = Matcher(nlp.vocab)
        for label, patterns in _PATTERNS.items():
            self._matcher.add(label, patterns)
        self._phrases = PhraseMatcher(nlp.vocab, attr="LOWER")
        for label, phrases in _WORDS.items():
            self._phrases.add(label, [nlp.make_doc(p) for p in phrases])
        for qualifier, phrases in _QUALIFIERS.items():
            self._phrases.add(f"{QUAL}:{qualifier}", [nlp.make_doc(p) for p in phrases])
        self._phrases.add(FILLER, [nlp.make_doc(p) for p in _FILLER_PHRASES])

    def analyze(self, text: str) -> list[Unit]:
        """The units of `text`, each with the rule (marker) that covers it, if any."""
        with self._lock:
            doc = self._make_doc(text)
            found = [(self._nlp.vocab.strings[m], s, e) for m, s, e in self._matcher(doc)]
            found += [(self._nlp.vocab.strings[m], s, e) for m, s, e in self._phrases(doc)]
            tokens = [(t.text, t.idx, t.is_space) for t in doc]
            if len(self._nlp.vocab.strings) > _VOCAB_LIMIT:
                # Every new word a customer types stays in spaCy's vocabulary for good; start
                # afresh now and then so a long-running bot does not grow without bound.
                self._build()
        found = [m for m in found if m[0] != SEP or "\n" in tokens[m[1]][0] or not tokens[m[1]][2]]
        units, first_unit = _units(tokens)
        for label, start, end in _longest_first(found):
            marker = _marker(label, [tokens[i][0] for i in range(start, end)],
                             first_unit[start], first_unit[end])
            if marker is None:
                continue
            for unit in units[marker.first:marker.last]:
                unit.marker = marker
        return units

    def _make_doc(self, text: str) -> Any:
        if not _LONG_RUN.search(text):
            return self._nlp.make_doc(text)  # every real message
        bounds = [0, *_run_cuts(text), len(text)]
        pieces = [self._nlp.make_doc(text[a:b]) for a, b in itertools.pairwise(bounds)]
        return Doc.from_docs(pieces, ensure_whitespace=False)  # same text, same offsets


# spaCy peels affixes off a whitespace-free chunk one at a time, rescanning the rest each time:
# 4,000 emoji or "!" in a row took seconds (quadratic) while every other customer waited. So a
# run longer than any real word is tokenized in pieces, cut after punctuation where possible.
_PIECE = 64
_LONG_RUN = re.compile(rf"\S{{{_PIECE + 1},}}")


def _run_cuts(text: str) -> list[int]:
    cuts: list[int] = []
    for run in _LONG_RUN.finditer(text):
        start, end = run.span()
        while end - start > _PIECE:
            window = text[start:start + _PIECE]
            after_mark = max((i + 1 for i, ch in enumerate(window[:-1]) if not ch.isalnum()),
                             default=_PIECE)
            start += after_mark
            cuts.append(start)
    return cuts


def mark_phrase(units: list[Unit], phrase: tuple[str, ...]) -> None:
    """Label every run of units spelling `phrase` (folded words) as filler: "is this sahara
    grill?" names the shop, not an item. A catalog name spelled the same still matches."""
    size = len(phrase)
    if not size:
        return
    for i in range(len(units) - size + 1):
        run = units[i:i + size]
        if [u.norm for u in run] == list(phrase) and all(u.marker is None for u in run):
            marker = Marker(FILLER, None, i, i + size)
            for unit in run:
                unit.marker = marker


def _units(tokens: list[tuple[str, int, bool]]) -> tuple[list[Unit], list[int]]:
    """Cut tokens into units; `first_unit[t]` is the first unit of token t (len(units) at end)."""
    units: list[Unit] = []
    first_unit: list[int] = []
    previous_end, previous_text = -1, ""
    for text, idx, is_space in tokens:
        first_unit.append(len(units))
        glued, previous_end = idx == previous_end, idx + len(text)
        # after a letter only: "30m" is thirty metres, "im" is "i'm"
        glued = glued and not previous_text[-1:].isdigit()
        previous_text = text
        if is_space:
            if "\n" in text:
                units.append(Unit(len(units), text, "\n", idx, idx + len(text), False))
            continue
        if is_symbol(text):
            continue  # emoji and friends carry no order content
        # Clitics ('d, 's, n't) are grammar; as words they would read as sizes ('s', 'm').
        if glued and text.lower() in _GLUED_CLITICS:  # "dont" -> do|nt, "im" -> i|m
            units.append(Unit(len(units), text, text.lower(), idx, idx + len(text), False))
            continue
        if text.isascii() and (text.isalpha() or text.isdigit()):  # the common case, fast
            units.append(Unit(len(units), text, text.lower(), idx, idx + len(text), True))
            continue
        clitic = text[:1] in "'’‘" or fold(text) in {"n't", "n’t"}
        pieces = [] if clitic else list(word_spans(text))
        if not pieces:
            units.append(Unit(len(units), text, fold(text), idx, idx + len(text), False))
            continue
        for piece, start, end in pieces:
            units.append(Unit(len(units), text[start:end], piece, idx + start, idx + end, True))
    first_unit.append(len(units))
    return units, first_unit


def _longest_first(found: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Non-overlapping matches, preferring longer ones, then earlier ones."""
    taken: set[int] = set()
    kept: list[tuple[str, int, int]] = []
    for label, start, end in sorted(found, key=lambda m: (m[1] - m[2], m[1], m[0])):
        span = range(start, end)
        if any(i in taken for i in span):
            continue
        taken.update(span)
        kept.append((label, start, end))
    return kept


def _marker(label: str, texts: list[str], first: int, last: int) -> Marker | None:
    if first == last:
        return None  # e.g. a pattern over emoji only
    if label.startswith(QUAL):
        return Marker(QUAL, label.split(":", 1)[1], first, last)
    if label in (QTY, MULT):
        value = _quantity([t for t in texts if fold(t) not in {"x", "×", "*"} or len(texts) == 1])
        return Marker(label, value, first, last) if value is not None else None
    return Marker(label, None, first, last)
