"""Hypothesis strategies for what customers (and broken senders) can throw at the bot."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from hypothesis import strategies as st

from tests.paths import FIXTURES, WHATSAPP_FIXTURES

# Characters that break naive text handling: direction marks and overrides, joiners, BOM,
# NUL and other controls, combining marks, line/paragraph separators, astral emoji (whole
# code points, no surrogates), emoji sequences, fullwidth and non-Latin digits.
ODD_PIECES = (
    "\u200f", "\u200e", "\u202e", "\u2066", "\u200d", "\u200b", "\u2060", "\ufeff", "\x00",
    "\x07", "\x1b", "\r\n", "\r", "\u2028", "\u2029", "\u0301", "\u0338", "e\u0301",
    "\u20dd", "\U0001f355", "\U0001f9c6", "\U0001f44d\U0001f3fd", "\U0001f468\u200d\U0001f469"
    "\u200d\U0001f467", "\U0001f3f3\ufe0f\u200d\U0001f308", "\ufe0f", "\U000e0041",
    "\U0010ffff", "\uffff", "\ufffd", "\uff12", "\u0663", "\u1369", "\U00011052", "\u00b2",
    "\u2460", "\u00bd", "\u0130", "\u00df", "\ufb01", "\u0627\u0644\u0633\u0644\u0627\u0645",
    "\u05e9\u05dc\u05d5\u05dd", "\u4e8c\u4e2a", "\U0001d7d0",
)
# Valid JSON escapes that no customer can type: a lone UTF-16 surrogate and NUL.
JSON_ONLY = ("\ud83d", "\udfff", "\x00", "\ud800\x00")
# Words and marks the parser gives meaning to: quantities, multipliers, separators, modifiers.
ORDER_PIECES = (
    "2", "10", "999", "1000", "0", "-1", "1.5", "x", "x2", "2x", "×", "*", "a", "two", "a dozen",
    "and", ",", "+", "&", "\n", "also", "plus", "no", "without", "extra", "light", "double",
    "hold the", "large", "small", "medium", "regular", "the", "one", "of", "with", "pls",
    "shawarma", "chicken", "pepsi", "pizza", "margherita", "fries", "burger", "coke", "milk",
    "eggs", "bread", "rice", "bananas", "water", "1kg", "500g", "6-pack", "garlic", "cheese",
    str(10**30), "9" * 40, "x" * 7, "x x x x", ",,,,", "&&&", "and and and", "$4.50", "7pm",
)


def odd_text(max_pieces: int = 40) -> st.SearchStrategy[str]:
    """Text mixing order words, odd unicode, spaces and arbitrary characters."""
    piece = st.one_of(
        st.sampled_from(ORDER_PIECES),
        st.sampled_from(ODD_PIECES),
        st.sampled_from((" ", "  ", "\t", "\n\n")),
        st.text(max_size=12),  # every category, surrogates excluded (not valid UTF-8)
    )
    return st.lists(piece, max_size=max_pieces).map(" ".join)


def flood() -> st.SearchStrategy[str]:
    """One piece repeated up to ~20k characters: emoji floods, separator runs, digit walls."""
    piece = st.one_of(
        st.sampled_from(ODD_PIECES),
        st.sampled_from(ORDER_PIECES),
        st.sampled_from(("!", ")", '"', "$", "%", "-", ".", "x", "2x", "2 x ", ", ", " and ",
                         "\U0001f355 ", "\U0001f600\U0001f44d", "1", "a")),
    )
    return st.builds(lambda p, n: (p * n)[:20_000], piece, st.integers(1, 20_000))


def customer_text() -> st.SearchStrategy[str]:
    return st.one_of(odd_text(), st.text(max_size=200), flood())


# ---- JSON payloads ----------------------------------------------------------------------------

def _sample(name: str) -> Any:
    return json.loads((WHATSAPP_FIXTURES / name).read_text(encoding="utf-8"))


SAMPLES: tuple[Any, ...] = tuple(
    _sample(path.name) for path in sorted(WHATSAPP_FIXTURES.glob("*.json")))


def deeply_nested(depth: int, leaf: Any = "x") -> Any:
    value: Any = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"a": value}
    return value


def huge_text() -> st.SearchStrategy[str]:
    return st.builds(lambda p, n: p * n, st.sampled_from(("x", "\U0001f355", "\u200d", "9",
                                                            "\u0301", "2 shawarma ")),
                     st.integers(1_000, 60_000))


json_scalar = st.one_of(
    st.none(), st.booleans(),
    st.integers(), st.sampled_from((10**30, -(10**30), 2**63, -(2**63) - 1, 0, -1)),
    st.floats(),  # NaN and Infinity too: Python's json reads them, so a server must cope
    st.text(max_size=30), st.sampled_from(ODD_PIECES),
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12,
)
# Nesting deeper than Python's recursion limit cannot be built as objects and json.dumps'd:
# such a value is a marker string that `encode` expands into brackets in the JSON text.
_DEEP = re.compile(rb'"@@deep:(\d+)@@"')
deep_marker = st.integers(100, 5_000).map(lambda depth: f"@@deep:{depth}@@")

odd_value = st.one_of(
    json_value,
    huge_text(),
    st.builds(deeply_nested, st.integers(10, 60)),
    deep_marker,
    odd_text(10),
)


def _places(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside node (dict keys and list indices), in a stable order;
    not below 30 levels, where a nested mutation has already made its point."""
    found: list[tuple[Any, ...]] = []
    if len(path) >= 30:
        return found
    if isinstance(node, dict):
        for key in node:
            found.append((*path, key))
            found.extend(_places(node[key], (*path, key)))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found.append((*path, index))
            found.extend(_places(item, (*path, index)))
    return found


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    node = doc
    for key in path[:-1]:
        node = node[key]
    return node


MUTATIONS = ("delete", "replace", "wrap_in_list", "wrap_in_dict", "duplicate", "nest",
             "mutate_text", "number_to_text")


@st.composite
def mutated_payload(draw: st.DrawFn) -> Any:
    """A real sample webhook body with a few parts deleted, retyped, wrapped or stretched."""
    doc = copy.deepcopy(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(1, 4))):
        places = _places(doc)
        if not places:
            break
        path = draw(st.sampled_from(places))
        parent, key = _parent(doc, path), path[-1]
        value = parent[key]
        mutation = draw(st.sampled_from(MUTATIONS))
        if mutation == "delete":
            del parent[key]
        elif mutation == "replace":
            parent[key] = draw(odd_value)
        elif mutation == "wrap_in_list":
            parent[key] = [value]
        elif mutation == "wrap_in_dict":
            parent[key] = {"value": value}
        elif mutation == "duplicate" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(value))
        elif mutation == "duplicate":
            parent[key] = [value, copy.deepcopy(value)]
        elif mutation == "nest":
            parent[key] = deeply_nested(draw(st.integers(2, 80)), value)
        elif mutation == "mutate_text" and isinstance(value, str):
            parent[key] = draw(st.sampled_from((
                value + draw(odd_text(6)), draw(st.sampled_from(ODD_PIECES)) + value,
                value + draw(st.sampled_from(JSON_ONLY)),
                value * draw(st.integers(2, 50)), "", value.upper(), draw(flood()))))
        elif mutation == "number_to_text" and isinstance(value, int | float):
            parent[key] = str(value)
        else:
            parent[key] = draw(json_scalar)
    return doc


def encode(doc: Any, ascii_only: bool) -> bytes:
    """JSON bytes as a sender would post them (escaped or raw UTF-8; lone surrogates escaped)."""
    text = json.dumps(doc, ensure_ascii=ascii_only)
    raw = text.encode("utf-8", "surrogatepass" if not ascii_only else "strict")
    return _DEEP.sub(lambda m: b"[" * int(m[1]) + b"1" + b"]" * int(m[1]), raw)


@st.composite
def webhook_body(draw: st.DrawFn) -> bytes:
    """Bytes for POST /webhook: mutated samples mostly, and some plain garbage."""
    kind = draw(st.sampled_from(("mutated", "mutated", "mutated", "mutated", "random_json",
                                 "truncated", "bytes")))
    if kind == "random_json":
        return encode(draw(json_value), draw(st.booleans()))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    body = encode(draw(mutated_payload()), draw(st.booleans()))
    if kind == "truncated":
        return body[: draw(st.integers(0, max(len(body) - 1, 0)))]
    return body


CATALOG_FIXTURES = FIXTURES / "catalog"
