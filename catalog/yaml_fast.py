"""A fast reader for the plain YAML that catalogs are written in.

The event walk in catalog.yaml_lines goes through libyaml's events, over ten seconds for a
100,000-product file. This reader handles the subset of YAML that catalog files use (block
mappings and lists, one-line flow lists and mappings, plain and simple quoted scalars, comments)
in one pass over the lines, and builds exactly the data the event walk would; asked to, it also
notes the line of every key and list item exactly as the event walk does, for problem reports.
Anything outside that subset (anchors, tags, block or multi-line scalars, escapes, tabs, a
second document, a repeated key, odd indentation) makes it give up and return None; the caller
then reads the file the slow, exact way, which also explains syntax mistakes.

So a file read here either means the same as with libyaml, or is not read here at all.
"""

from __future__ import annotations

import re

from catalog.errors import Loc, RawCatalog

_NULLS = frozenset(("~", "null", "Null", "NULL"))  # the empty value is handled apart
# A plain scalar cannot start with these; a value starting with one is left to the slow reader.
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
# Bytes allowed in a file read here: printable ASCII, line feeds and UTF-8 sequences. Tabs,
# carriage returns (except in CRLF line ends) and control characters go to the slow reader.
_PLAIN_BYTES = bytes([10, *range(32, 127), *range(128, 256)])
# Characters libyaml rejects or reads as line breaks (NEL, LS, PS), a BOM inside the text,
# and non-characters: not in the subset.
_ODD_CHARS = re.compile("[\x80-\x9f\u2028\u2029\ufeff\ufffe\uffff]")
# A key this reader accepts: letters, digits and underscores (every catalog field name).
_KEY = re.compile(r"[A-Za-z0-9_]+")
# A plain scalar inside [...] or {...}: no quotes or indicators first (but "-1.50"), stops at
# , [ ] { } and at ':' followed by a space or one of them; '#' and '?' are left to the slow
# reader.
_FLOW_PLAIN = re.compile(
    r"(?:[^\s\-?:,\[\]{}#&*!|>'\"%@`]|-(?=\d))(?:[^:,\[\]{}#?]|:(?![\s,\[\]{}]))*")
_SPACES = re.compile(" *")
# The usual line, read with one match: indent, "- " (an item that is a mapping), a key and
# either nothing, a plain value without ':' or '#', or a list of such values.
_SIMPLE_LINE = re.compile(
    r"( *)(- +)?([A-Za-z0-9_]+):(?: +(?:([^\s\-?:,\[\]{}#&*!|>'\"%@`][^:#]*)"
    r"|\[([^\[\]{}:#?]*)\]))? *$")
# "{key: plain, key: [plain, plain]}" on one line, and one entry of it.
_ENTRY = (r"[A-Za-z0-9_]+: +(?:[^\s\-?:,\[\]{}#&*!|>'\"%@`][^:#,\[\]{}]*"
          r"|\[[^\[\]{}:#?]*\])")
_SIMPLE_MAP = re.compile(rf"\{{ *{_ENTRY}(?: *, *{_ENTRY})* *\}}")
_MAP_ENTRY = re.compile(r"([A-Za-z0-9_]+): +(?:([^\s\-?:,\[\]{}#&*!|>'\"%@`][^:#,\[\]{}]*)"
                        r"|\[([^\[\]{}:#?]*)\])")
# Characters that make "[...]" more than plain items separated by commas.
_LIST_SPECIAL = re.compile(r"[\[\]{}:#?]")
_OPENING = frozenset("[{")
_QUOTES = frozenset("\"'")
_OPENING_OR_QUOTE = _OPENING | _QUOTES
_DOCUMENT_MARK = re.compile(r"^(?:---|\.\.\.)(?:[ \r\n]|$)", re.MULTILINE)


class _Unsupported(Exception):
    """The text uses YAML this reader does not handle; read it the slow way."""


def load_plain_yaml(content: bytes) -> dict[str, object] | None:
    """The catalog data in `content`, or None when it needs the full YAML reader."""
    read = _read(content, track=False)
    return None if read is None else read.data


def load_plain_yaml_lines(content: bytes, file: str) -> RawCatalog | None:
    """As load_plain_yaml, with the line of every key and list item noted the way
    catalog.yaml_lines notes them, for explaining problems; None when it cannot say."""
    read = _read(content, track=True)
    if read is None:
        return None
    return RawCatalog(file=file, data=read.data, lines=read.where)


def _read(content: bytes, *, track: bool) -> _Reader | None:
    stray = content.translate(None, _PLAIN_BYTES)
    if stray and (stray.strip(b"\r") or content.count(b"\r") != content.count(b"\r\n")):
        return None
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if stray:
        text = text.replace("\r\n", "\n")
    if not text.isascii() and _ODD_CHARS.search(text):
        return None
    lines = text.split("\n")
    first_line = 1
    if text.startswith(("---", "...")) or "\n---" in text or "\n..." in text:
        first = _DOCUMENT_MARK.search(text)
        if first is not None:  # one '---' opening the file is fine; any other marker is not
            opening = text[:first.start()]
            if not all(not line.strip(" ") or line.lstrip(" ").startswith("#")
                       for line in opening.split("\n")):
                return None
            if _DOCUMENT_MARK.search(text, first.end()) is not None \
                    or text[first.start():first.end()].rstrip() != "---":
                return None
            lines = text[first.end():].split("\n")
            first_line += text.count("\n", 0, first.end())
    reader = _Reader(track=track)
    try:
        reader.read(lines, first_line)
    except _Unsupported:
        return None
    return reader if reader.data is not None else None


# What one line says, as _Reader.lex reads it: (indent, kind, key, value, item indent).
# `value` is _EMPTY when the value follows on the next lines (or is empty).
_Line = tuple[int, int, str, object, int]
_KEY_LINE, _ITEM, _ITEM_KEY = 0, 1, 2  # "key: v", "- v", "- key: v" (a mapping in a list)
_EMPTY = object()
_BLANK: _Line = (-1, -1, "", None, -1)  # blank and comment lines


class _Reader:
    def __init__(self, *, track: bool) -> None:
        # Many lines repeat word for word ("    category: Dairy & Eggs", a pack size of a
        # variant); each distinct line is read once. Repeated flow values ("[1kg]") then share
        # one object; nothing downstream changes the data.
        self.known: dict[str, _Line] = {}
        self.keys: set[str] = set()
        self.data: dict[str, object] | None = None
        # With `track`, the line of every key and list item, as catalog.yaml_lines notes it.
        self.track = track
        self.where: dict[Loc, int] = {}

    def read(self, lines: list[str], first_line: int) -> None:  # noqa: PLR0915 - hot loop
        root: dict[str, object] | None = None
        track, where = self.track, self.where
        # (indent, container, its place): the open mappings and lists, innermost last
        stack: list[tuple[int, dict[str, object] | list[object], Loc]] = []
        top: dict[str, object] | list[object] = []
        top_indent = -1
        top_loc: Loc = ()
        # A key or list item whose value is on the following lines: where it goes.
        pending: dict[str, object] | list[object] | None = None
        pending_key: str | int = 0
        pending_indent = -1
        pending_loc: Loc = ()
        known = self.known
        for number, line in enumerate(lines, first_line):
            parsed = known.get(line)
            if parsed is None:
                parsed = known[line] = self.lex(line)
            indent, kind, key, value, inner = parsed
            if indent < 0:
                continue
            if pending is not None:
                if indent > pending_indent or (
                    indent == pending_indent and kind != _KEY_LINE and type(pending) is dict
                ):  # the value is the block starting here (a list may line up with its key)
                    block: dict[str, object] | list[object] = {} if kind == _KEY_LINE else []
                    if isinstance(pending, dict):
                        pending[str(pending_key)] = block
                    else:
                        pending[int(pending_key)] = block
                    if track:
                        pending_loc = (*pending_loc, pending_key)
                        where.setdefault(pending_loc, number)  # a list item starts here
                    stack.append((indent, block, pending_loc))
                    top, top_indent, top_loc = block, indent, pending_loc
                elif track and type(pending) is list:
                    raise _Unsupported  # the line libyaml gives an empty item: left to it
                pending = None  # otherwise the value stays empty (None)
            if indent != top_indent:
                while stack and stack[-1][0] > indent:
                    stack.pop()
                if not stack:
                    if root is not None or kind != _KEY_LINE:
                        raise _Unsupported
                    root = {}
                    stack.append((indent, root, ()))
                    if track:
                        where[()] = number
                top_indent, top, top_loc = stack[-1]
                if top_indent != indent:
                    raise _Unsupported
            if kind == _KEY_LINE:
                if type(top) is list:
                    # a key after a list that lined up with its own key: the list has ended
                    stack.pop()
                    if not stack or stack[-1][0] != indent or type(stack[-1][1]) is not dict:
                        raise _Unsupported
                    top_indent, top, top_loc = stack[-1]
                mapping = top
                mapping_loc = top_loc
            else:
                if type(top) is not list:
                    raise _Unsupported
                mapping_loc = top_loc
                if track and (kind == _ITEM_KEY or value is not _EMPTY):
                    mapping_loc = (*top_loc, len(top))  # (an empty item starts further down)
                    where[mapping_loc] = number
                    if kind == _ITEM and (type(value) is dict or type(value) is list):
                        _note_lines(value, mapping_loc, number, where)
                if kind == _ITEM:
                    if value is _EMPTY:
                        top.append(None)
                        pending, pending_key, pending_indent = top, len(top) - 1, indent
                        pending_loc = top_loc
                    else:
                        top.append(value)
                    continue
                mapping = {}  # "- id: x": a mapping whose keys line up with "id"
                top.append(mapping)
                stack.append((inner, mapping, mapping_loc))
                top, top_indent, top_loc = mapping, inner, mapping_loc
            assert type(mapping) is dict
            if key in mapping:
                raise _Unsupported  # a repeated key is a mistake to report with its line
            if track:
                where[(*mapping_loc, key)] = number
                if type(value) is dict or type(value) is list:
                    _note_lines(value, (*mapping_loc, key), number, where)
            if value is _EMPTY:
                mapping[key] = None
                pending, pending_key, pending_indent = mapping, key, top_indent
                pending_loc = mapping_loc
            else:
                mapping[key] = value
        if track and type(pending) is list:
            raise _Unsupported  # an empty item last in the file: as above
        self.data = root

    def lex(self, line: str) -> _Line:
        head, colon, plain = line.partition(": ")
        if colon and plain and plain[0] not in _INDICATORS and not plain[0].isspace() \
                and ":" not in plain and "#" not in plain:  # "    name: Plain Words"
            key = head.lstrip(" ")
            if key in self.keys:  # a key seen before, so a word _KEY accepts
                plain = plain.rstrip(" ")
                return len(head) - len(key), _KEY_LINE, key, None if plain in _NULLS else plain, -1
        simple = _SIMPLE_LINE.match(line)
        if simple is not None:  # most lines: "key: plain words", "key: [a, b]", "- key: ..."
            spaces, dash, key, plain, listed = simple.groups()
            self.keys.add(key)
            value: object = _EMPTY
            if plain is not None:
                plain = plain.rstrip(" ")
                value = None if plain in _NULLS else plain
            elif listed is not None:
                value = _plain_items(listed)
                if value is None:
                    return self.lex_any(line)
            if dash is None:
                return len(spaces), _KEY_LINE, key, value, -1
            return len(spaces), _ITEM_KEY, key, value, len(spaces) + len(dash)
        return self.lex_any(line)

    def lex_any(self, line: str) -> _Line:
        content = line.lstrip(" ")
        if not content or content[0] == "#":
            return _BLANK
        indent = len(line) - len(content)
        if content[0] == "-" and (len(content) == 1 or content[1] == " "):
            rest = content[2:]
            text = rest.lstrip(" ")
            if not text or text[0] == "#":
                return indent, _ITEM, "", _EMPTY, -1
            colon = text.find(": ")
            if (colon > 0 or text[-1] == ":") and text[0] not in _OPENING_OR_QUOTE:
                key, value = self.key_value(text)
                return indent, _ITEM_KEY, key, value, indent + 2 + len(rest) - len(text)
            return indent, _ITEM, "", self.scalar(text), -1
        key, value = self.key_value(content)
        return indent, _KEY_LINE, key, value, -1

    def key_value(self, content: str) -> tuple[str, object]:
        colon = content.find(": ")
        if colon < 0:
            if content[-1] != ":":
                raise _Unsupported
            colon = len(content) - 1
        key = content[:colon]
        if key not in self.keys:
            if not _KEY.fullmatch(key):
                raise _Unsupported
            self.keys.add(key)
        value = content[colon + 2:].lstrip(" ")
        if not value or value[0] == "#":
            return key, _EMPTY
        return key, self.scalar(value)

    def scalar(self, text: str) -> object:
        """The value written after 'key: ' or '- ' (no leading spaces, not a comment)."""
        first = text[0]
        if first in _OPENING:
            inner = text[1:-1]
            if first == "[" and text[-1] == "]" and not _LIST_SPECIAL.search(inner):
                items = _plain_items(inner)  # "[a, b c, d]": plain items only
                if items is not None:
                    return items
            elif first == "{" and _SIMPLE_MAP.fullmatch(text):
                mapping = _plain_mapping(text)  # "{id: 1-kg, name: 1 kg, aliases: [1kg]}"
                if mapping is not None:
                    return mapping
            value, end = self.flow(text, 0)
            _only_comment(text, end)
            return value
        if first in _QUOTES:
            value, end = _quoted(text, 0)
            _only_comment(text, end)
            return value
        if first in _INDICATORS and not (first == "-" and text[1:2].isdigit()):
            raise _Unsupported  # "-3.50" is a plain number; other indicators mean YAML syntax
        comment = text.find(" #")
        if comment >= 0:
            text = text[:comment]
        text = text.rstrip(" ")
        if ": " in text or text[-1] == ":":
            raise _Unsupported
        return None if text in _NULLS else text

    def flow(self, text: str, pos: int) -> tuple[object, int]:
        """The [...] or {...} starting at text[pos], and where it ends (all on one line)."""
        closing = "]" if text[pos] == "[" else "}"
        mapping: dict[str, object] | None = {} if closing == "}" else None
        items: list[object] = []
        pos = _skip(text, pos + 1)
        if text[pos:pos + 1] == closing:
            return (items if mapping is None else mapping), pos + 1
        while True:
            if mapping is not None:
                match = _FLOW_PLAIN.match(text, pos)
                if match is None:
                    raise _Unsupported
                key = match[0].rstrip(" ")
                pos = match.end()
                if text[pos:pos + 2] != ": " or not _KEY.fullmatch(key) or key in mapping:
                    raise _Unsupported
                value, pos = self.flow_item(text, _skip(text, pos + 2))
                mapping[key] = value
            else:
                value, pos = self.flow_item(text, pos)
                items.append(value)
            pos = _skip(text, pos)
            mark = text[pos:pos + 1]
            if mark == closing:
                return (items if mapping is None else mapping), pos + 1
            if mark != ",":
                raise _Unsupported
            pos = _skip(text, pos + 1)
            if text[pos:pos + 1] in (closing, ",", ""):
                raise _Unsupported  # a trailing or doubled comma: leave it to libyaml

    def flow_item(self, text: str, pos: int) -> tuple[object, int]:
        first = text[pos:pos + 1]
        if first in _OPENING:
            return self.flow(text, pos)
        if first in _QUOTES:
            return _quoted(text, pos)
        match = _FLOW_PLAIN.match(text, pos)
        if match is None:
            raise _Unsupported
        value = match[0].rstrip(" ")
        return (None if value in _NULLS else value), match.end()


def _note_lines(value: object, loc: Loc, number: int, where: dict[Loc, int]) -> None:
    """Everything inside a one-line flow value is on that line."""
    if isinstance(value, dict):
        for key, inner in value.items():
            where[(*loc, key)] = number
            _note_lines(inner, (*loc, key), number, where)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            where[(*loc, index)] = number
            _note_lines(inner, (*loc, index), number, where)


def _plain_items(inner: str) -> list[object] | None:
    """The items of "[...]" when `inner` holds plain items between commas, else None."""
    items: list[object] = [item.strip(" ") for item in inner.split(",")]
    starts = {str(item)[:1] for item in items}
    if "" in starts or not _INDICATORS.isdisjoint(starts):
        return None if inner.strip(" ") else []
    return items if _NULLS.isdisjoint(items) else [None if i in _NULLS else i for i in items]


def _plain_mapping(text: str) -> dict[str, object] | None:
    """The mapping "{...}" whose entries are plain values or plain lists, else None."""
    entries = _MAP_ENTRY.findall(text)
    mapping: dict[str, object] = {}
    for key, plain, listed in entries:
        if listed or not plain:
            value = _plain_items(listed)
            if value is None:
                return None
            mapping[key] = value
        else:
            text = plain.rstrip(" ")
            mapping[key] = None if text in _NULLS else text
    return mapping if len(mapping) == len(entries) else None  # a repeated key: not here


def _skip(text: str, pos: int) -> int:
    match = _SPACES.match(text, pos)
    assert match is not None  # " *" always matches
    return match.end()


def _quoted(text: str, pos: int) -> tuple[str, int]:
    """A quoted scalar on one line: "..." without escapes, or '...' with '' for a quote."""
    quote = text[pos]
    if quote == '"':
        end = text.find('"', pos + 1)
        if end < 0 or "\\" in text[pos:end]:
            raise _Unsupported
        return text[pos + 1:end], end + 1
    start = pos + 1
    while True:
        end = text.find("'", start)
        if end < 0:
            raise _Unsupported
        if text[end + 1:end + 2] != "'":
            return text[pos + 1:end].replace("''", "'"), end + 1
        start = end + 2


def _only_comment(text: str, end: int) -> None:
    """After a quoted or flow value only spaces and a comment may follow."""
    rest = text[end:]
    if rest and not (rest[0] == " " and (not rest.strip(" ") or rest.lstrip(" ")[0] == "#")):
        raise _Unsupported
