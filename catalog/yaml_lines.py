"""Reading catalog YAML into plain data while remembering the line every key and item is on."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import yaml
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)

from catalog.errors import Loc, RawCatalog
from catalog.locate import describe

_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
# libyaml is roughly ten times faster; a 2,000-product file must load well under a second.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_KEY = "<<"
_LEADING_TAB = re.compile(r"^ *\t+ *\S")

# The parser's own words mean nothing to a shop owner; these are the usual causes, in plain words.
_SYNTAX_HINTS: tuple[tuple[str, str, str], ...] = (
    (
        "cannot start any token",
        "This line has a character YAML does not allow here, most often a tab.",
        "Indent with spaces only, never with the Tab key.",
    ),
    (
        "mapping values are not allowed",
        "This line does not line up with the lines around it, or has a ':' where it does not "
        "fit.",
        "Indent it with spaces exactly like the other fields of the same item, and check the "
        "line above ends properly; put text that itself contains ': ' in quotes.",
    ),
    (
        "could not find expected ':'",
        "A line is missing the ':' between the field name and its value.",
        "Write it like 'price: 7.50'.",
    ),
    (
        "did not find expected key",
        "This line is indented differently from the lines around it.",
        "Line it up with the other fields of the same item, using spaces.",
    ),
    (
        "expected <block end>",
        "This line is indented differently from the lines around it.",
        "Line it up with the other fields of the same item, using spaces.",
    ),
    (
        "'-' indicator",
        "A list item and a field are mixed at the same indentation.",
        "Every item of a list starts with '- '; fields of that item go under it, indented.",
    ),
    (
        "end of stream",
        "A quote or bracket opened here is never closed.",
        "Add the closing quote or bracket, or remove the opening one.",
    ),
    (
        "expected ',' or ']'",
        "A list in [brackets] is not closed properly.",
        "Close it with ']' and separate the items with commas.",
    ),
    (
        "did not find expected alphabetic or numeric character",
        "A '*' or '&' here is read as a reference, not as text.",
        "Put the value in quotes if the '*' or '&' is part of the text.",
    ),
)


def parse_yaml(content: bytes, file: str) -> RawCatalog:
    """Parse YAML bytes; syntax mistakes become problems on `RawCatalog.problems`."""
    raw = RawCatalog(file=file, data=None)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raw.problem(
            content[: exc.start].count(b"\n") + 1,
            "",
            "The file is not saved as UTF-8 text.",
            "Save it again choosing the 'UTF-8' encoding.",
        )
        return raw
    try:
        # Building from parser events instead of yaml.compose: node objects made that 5x slower.
        data = _Builder(raw).run(yaml.parse(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        # The parser stops at the first tab; owners who paste from elsewhere usually have many.
        tab_lines = [n for n, line in enumerate(text.splitlines(), 1) if _LEADING_TAB.match(line)]
        for number in tab_lines:
            raw.problem(number, "", "This line is indented with a tab.",
                        "Indent with spaces only, never with the Tab key.")
        # For a missing ':' the parser points past the line; the key it was reading is the one.
        simple_key = "simple key" in str(exc.context)
        mark = (exc.context_mark if simple_key else None) or exc.problem_mark or exc.context_mark
        at = None if mark is None else int(mark.line) + 1
        if at not in tab_lines:  # a tab already reported here is the cause; say it once
            message, suggestion = _explain_syntax(exc)
            raw.problem(at, "", message, suggestion)
        return raw
    except yaml.YAMLError:
        raw.problem(None, "", "The file cannot be read as YAML.", "Compare it with the sample.")
        return raw
    if data is None and not raw.problems:
        raw.problem(None, "", "The file is empty.",
                    "Start with a 'shop:' section and a 'products:' list (see the sample "
                    "restaurant.yaml).")
    raw.data = data
    return raw


def _explain_syntax(exc: yaml.MarkedYAMLError) -> tuple[str, str]:
    said = f"{exc.context or ''} {exc.problem or ''}"
    for needle, message, suggestion in _SYNTAX_HINTS:
        if needle in said:
            return message, suggestion
    return (
        "The file cannot be read as YAML at this point.",
        "Check the indentation, colons and quotes on this line and the line before it.",
    )


_SKIP = object()  # the value of a repeated key: reported, then dropped


@dataclass
class _Frame:
    """A mapping or list being built, where it sits, and the key waiting for its value."""

    value: dict[str, object] | list[object]
    loc: Loc
    anchor: str | None
    key: object = None
    merged: dict[str, object] = field(default_factory=dict)


class _Builder:
    """Turns parser events into dicts/lists/strings, filling in `raw.lines` on the way."""

    def __init__(self, raw: RawCatalog) -> None:
        self.raw = raw
        self.anchors: dict[str, object] = {}
        self.stack: list[_Frame] = []
        self.root: object = None
        # Keys written twice, reported once the whole file is read and the items have their ids.
        self.repeated: list[tuple[Loc, int]] = []

    def run(self, events: Iterable[Event]) -> object:
        documents = 0
        stack = self.stack
        for event in events:
            kind = type(event)
            if kind is ScalarEvent:
                assert isinstance(event, ScalarEvent)
                value: object = event.value
                parent = stack[-1] if stack else None
                if parent is not None and parent.key is None and type(parent.value) is dict:
                    self._key(parent, value, event)  # a key: "~" or "null" is still a word
                    continue
                # Numbers and booleans stay text: pydantic reads "7.50" as Decimal exactly,
                # and a name like "7up" or an alias like "1664" stays what the owner wrote.
                if value in _NULLS and event.implicit[0] and event.tag is None and not event.style:
                    value = None
                if event.anchor is not None:
                    self.anchors[event.anchor] = value
                self._add(value, event)
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                assert isinstance(event, MappingStartEvent | SequenceStartEvent)
                loc = self._child_loc(event)
                container: dict[str, object] | list[object] = (
                    {} if kind is MappingStartEvent else []
                )
                stack.append(_Frame(container, loc, event.anchor))
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                frame = stack.pop()
                if frame.merged and isinstance(frame.value, dict):
                    for key, merged in frame.merged.items():
                        frame.value.setdefault(key, merged)
                if frame.anchor is not None:
                    self.anchors[frame.anchor] = frame.value
                self._add(frame.value, event)
            elif kind is AliasEvent:
                assert isinstance(event, AliasEvent)
                if event.anchor not in self.anchors:
                    self.raw.problem(_line(event), "", "A '*' here refers to something that "
                                     "does not exist.",
                                     "Put the value in quotes if the '*' is part of the text.")
                self._add(self.anchors.get(str(event.anchor)), event)
            elif kind is DocumentStartEvent:
                documents += 1
                if documents > 1:
                    self.raw.problem(_line(event), "", "The file contains a '---' line, which "
                                     "starts a second catalog.",
                                     "Remove the '---' line; one file holds one catalog.")
                    break
        for loc, line in self.repeated:
            self.raw.problem(line, describe(loc, self.root),
                             f"The field '{loc[-1]}' is written twice in the same item "
                             f"(also on line {self.raw.lines[loc]}).",
                             "Keep one of them and delete the other.")
        return self.root

    def _child_loc(self, event: Event) -> Loc:
        if not self.stack:
            loc: Loc = ()
        else:
            parent = self.stack[-1]
            if isinstance(parent.value, list):
                loc = (*parent.loc, len(parent.value))
            elif isinstance(parent.key, str):
                loc = (*parent.loc, parent.key)
            else:  # a list or mapping used as a key; _add reports it
                loc = parent.loc
        self.raw.lines.setdefault(loc, _line(event))
        return loc

    def _add(self, value: object, event: Event) -> None:
        if not self.stack:
            self.root = value
            return
        parent = self.stack[-1]
        if type(parent.value) is list:
            self.raw.lines.setdefault((*parent.loc, len(parent.value)), _line(event))
            parent.value.append(value)
        elif parent.key is None:
            self._key(parent, value, event)
        else:
            key, parent.key = parent.key, None
            if key == _MERGE_KEY:  # `<<: *defaults` copies fields the owner did not write
                for part in value if isinstance(value, list) else [value]:
                    if isinstance(part, dict):
                        for k, v in part.items():
                            parent.merged.setdefault(k, v)
            elif isinstance(key, str) and isinstance(parent.value, dict):
                parent.value[key] = value

    def _key(self, parent: _Frame, key: object, event: Event) -> None:
        assert isinstance(parent.value, dict)
        line = _line(event)
        if not isinstance(key, str):
            self.raw.problem(line, "", "A field name here is not a simple word.",
                             "Write fields as 'name: value'.")
            parent.key = _SKIP
        elif key in parent.value:
            self.repeated.append(((*parent.loc, key), line))
            parent.key = _SKIP
        else:
            parent.key = key
            if key != _MERGE_KEY:
                self.raw.lines[(*parent.loc, key)] = line


def _line(event: Event) -> int:
    # Every event from the parser carries its position; the type stubs allow None.
    return int(event.start_mark.line) + 1 if event.start_mark is not None else 0
