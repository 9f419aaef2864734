"""Reading the words before and after a product ("large", "with extra cheese, no garlic",
"cut in half") into a variant, chosen options, removals, notes and problems."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from parsers.message import Message
from parsers.models import ChosenOption, Qualifier, Unresolved
from parsers.modifier_index import Kind, Modifier, ModifierIndex
from parsers.normalize import NOTE_CUES
from parsers.pipeline import FILLER, MULT, NEG, QTY, QUAL, RESET, SEP, WITH
from parsers.segment import OPENING

_SCOPE_ENDS = frozenset({",", "\n", ";", ".", "!", "?", "|"})
_LIST_JOINERS = frozenset({"and", "or", "&"})
_ARTICLES = frozenset({"a", "an"})
_QUALIFIERS: dict[str, Qualifier] = {"extra": "extra", "light": "light", "double": "double"}


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
    # "coke zero" with no Coke Zero on the menu: an unknown word straight after the name goes
    # on naming something else, so the line is not this product. The units [first, last).
    renamed: tuple[int, int] | None = None


@dataclass
class _State:
    remove: bool = False
    qualifier: Qualifier | None = None
    consumed: bool = True  # a modifier was read since the last "no"
    context: str | None = None  # the last rule word: NEG, WITH, QUAL
    context_start: int = -1
    run: list[int] = field(default_factory=list)
    name_end: int = -1  # reading after a name: the unit right after it


class ModifierReader:
    """Reads units [lo, hi) around one product; `head` says they come before the name."""

    def __init__(self, message: Message, index: ModifierIndex) -> None:
        self.message = message
        self.index = index

    def read(self, lo: int, hi: int, reading: Reading, head: bool) -> None:
        units = self.message.units
        state = _State(name_end=-1 if head else lo)
        i = lo
        while i < hi:
            unit = units[i]
            found = self.index.match_word(self.message, i, hi)
            if found is not None and found.partial and not found.head \
                    and self._qualifies_next(found.last, hi):
                # "black beans": "black" describes the next word, it does not mean "olives"
                following = self.index.match_word(self.message, found.last, hi)
                if following is not None and not following.partial:
                    i = found.last
                    continue
                found = None
            if found is not None:
                # "with grilled chicken" (no "grilled chicken" option): a description -> note
                self._flush(state, reading, describes=bool(state.run) and state.run[-1] == i - 1)
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
            if state.run and marker.label == SEP and unit.norm in _LIST_JOINERS:
                state.run.append(i)  # "without olives and feta": one note, not two
                i += 1
                continue
            self._flush(state, reading)
            # "shawarma (2)": an opening bracket does not stop a number being the first word
            at_start = all(units[k].norm in OPENING for k in range(lo, marker.first))
            self._rule(marker.label, marker.value, range(marker.first, marker.last), state,
                       reading, head=head, at_start=at_start)
            i = max(marker.last, i + 1)
        self._flush(state, reading)

    def _qualifies_next(self, i: int, hi: int) -> bool:
        """Is unit i (after a partial name's first word) a noun that word describes?"""
        while i < hi and not self.message.units[i].is_word and self.message.units[i].marker \
                is None:
            i += 1
        return i < hi and self.message.is_content(i)

    def _rule(self, label: str, value: int | str | None, span: range, state: _State,
              reading: Reading, *, head: bool, at_start: bool) -> None:
        first = span[0]
        if label == QTY and isinstance(value, int):
            counted = self.index.counts.get(value)
            if head and counted is not None and reading.variant is None \
                    and any(self.message.units[k].norm == "dozen" for k in span):
                reading.variant = counted  # "a dozen eggs": the 12-egg pack, not 12 packs
                reading.used.extend(span)
            elif head and reading.quantity is None and not self._counts_options(span):
                reading.used.extend(span)
                if len(span) > 1 or self.message.units[first].norm not in _ARTICLES:
                    reading.quantity = value  # "a pepsi x2": an article does not count
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
            if label == QUAL and isinstance(value, str):
                state.qualifier = _QUALIFIERS.get(value)
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

    def _flush(self, state: _State, reading: Reading, *, describes: bool = False) -> None:
        run, state.run = state.run, []
        units = self.message.units
        while run and (units[run[-1]].filler or not units[run[-1]].is_word
                       or units[run[-1]].label == SEP):
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
        if run[0] == state.name_end and state.context is None and not cue and not candidates \
                and not describes and units[run[0]].norm.isalpha() \
                and not self.message.readings[run[0]]:  # "wrap", "sandwich": catalog words
            reading.renamed = (run[0], last)
        if describes:
            reading.notes.append(self.message.span_text(run[0], last))
        elif candidates and not cue:
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
