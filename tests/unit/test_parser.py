"""OrderParser: one table of cases per phenomenon, against the in-code restaurant catalog."""

from __future__ import annotations

from typing import Any

import pytest

from parsers import MIN_CONFIDENCE, OrderParser, ParseResult
from tests.unit.parser_catalog import restaurant_catalog

# (product, quantity, variant, options, removed); options as "id" or "id:qualifier".
Line = tuple[str, int, str | None, tuple[str, ...], tuple[str, ...]]


@pytest.fixture(scope="module")
def parser() -> OrderParser:
    return OrderParser(restaurant_catalog())


def lines(result: ParseResult) -> list[Line]:
    return [(line.product, line.quantity, line.variant,
             tuple(o.id if o.qualifier is None else f"{o.id}:{o.qualifier}" for o in line.options),
             line.removed) for line in result.lines]


def problems(result: ParseResult) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(u.reason, u.text, u.candidates) for u in result.unresolved]


def check(parser: OrderParser, text: str, expected: list[Line]) -> ParseResult:
    result = parser.parse(text)
    assert lines(result) == expected, result.to_json()
    return result


def shawarma(quantity: int = 1, variant: str = "regular", options: tuple[str, ...] = (),
             removed: tuple[str, ...] = (), beef: bool = False) -> Line:
    return ("beef-shawarma" if beef else "chicken-shawarma", quantity, variant, options, removed)


def pepsi(quantity: int = 1, variant: str = "small") -> Line:
    return ("pepsi", quantity, variant, (), ())


def wings(quantity: int) -> Line:
    return ("chicken-wings", quantity, None, (), ())


def test_canonical_step_one_order(parser: OrderParser) -> None:
    result = check(parser, "2 chicken shawarma and a large pepsi",
                   [shawarma(2), pepsi(1, "large")])
    assert result.unresolved == ()
    assert [line.confidence for line in result.lines] == [1.0, 1.0]


QUANTITIES: list[tuple[str, list[Line]]] = [
    ("3 pepsi", [pepsi(3)]),
    ("three pepsis", [pepsi(3)]),
    ("a pepsi", [pepsi(1)]),
    ("an ayran", [("ayran", 1, None, (), ())]),
    ("one pepsi", [pepsi(1)]),
    ("a couple of pepsis", [pepsi(2)]),
    ("couple pepsi", [pepsi(2)]),
    ("a dozen wings", [wings(12)]),
    ("half a dozen wings", [wings(6)]),
    ("2 dozen wings", [wings(24)]),
    ("twelve wings", [wings(12)]),
    ("twenty wings", [wings(20)]),
    ("twenty-five wings", [wings(25)]),
    ("thirty wings", [wings(30)]),
    ("pepsi x2", [pepsi(2)]),
    ("pepsi x 3", [pepsi(3)]),
    ("2x pepsi", [pepsi(2)]),
    ("2 x pepsi", [pepsi(2)]),
    ("pepsi ×4", [pepsi(4)]),
    ("2falafel", [("falafel-wrap", 2, None, (), ())]),
    ("chicken shawarma 2, pepsi 3", [shawarma(2), pepsi(3)]),
    ("another pepsi", [pepsi(1)]),
    ("chicken shawarma", [shawarma(1)]),
]


@pytest.mark.parametrize(("text", "expected"), QUANTITIES, ids=[c[0] for c in QUANTITIES])
def test_quantities(parser: OrderParser, text: str, expected: list[Line]) -> None:
    check(parser, text, expected)


SEPARATORS: list[tuple[str, list[Line]]] = [
    ("chicken shawarma and pepsi", [shawarma(), pepsi()]),
    ("chicken shawarma, pepsi", [shawarma(), pepsi()]),
    ("chicken shawarma + pepsi", [shawarma(), pepsi()]),
    ("chicken shawarma & pepsi", [shawarma(), pepsi()]),
    ("chicken shawarma\npepsi", [shawarma(), pepsi()]),
    ("chicken shawarma also a pepsi", [shawarma(), pepsi()]),
    ("chicken shawarma plus a pepsi", [shawarma(), pepsi()]),
    ("2 chicken shawarma 1 beef shawarma 3 pepsi", [shawarma(2), shawarma(beef=True), pepsi(3)]),
    ("Chicken shawarma x2\nBeef shawarma\n- pepsi large",
     [shawarma(2), shawarma(beef=True), pepsi(1, "large")]),
    ("fries, wings and a coke",
     [("fries", 1, "small", (), ()), wings(1), ("coca-cola", 1, "small", (), ())]),
]


@pytest.mark.parametrize(("text", "expected"), SEPARATORS, ids=[c[0] for c in SEPARATORS])
def test_separators(parser: OrderParser, text: str, expected: list[Line]) -> None:
    check(parser, text, expected)


VARIANTS: list[tuple[str, list[Line]]] = [
    ("large pepsi", [pepsi(1, "large")]),
    ("pepsi large", [pepsi(1, "large")]),
    ("pepsi (L)", [pepsi(1, "large")]),
    ("big pepsi", [pepsi(1, "large")]),
    ("pepsi", [pepsi(1, "small")]),  # the default variant when none is named
    ("2 large chicken shawarmas", [shawarma(2, "large")]),
    ("chicken shawarma large with extra meat", [shawarma(1, "large", ("extra-meat",))]),
    ("a medium margherita", [("margherita-pizza", 1, "medium", (), ())]),
    ("margherita pizza large", [("margherita-pizza", 1, "large", (), ())]),
    ("pepsi large and large fries", [pepsi(1, "large"), ("fries", 1, "large", (), ())]),
]


@pytest.mark.parametrize(("text", "expected"), VARIANTS, ids=[c[0] for c in VARIANTS])
def test_variants(parser: OrderParser, text: str, expected: list[Line]) -> None:
    check(parser, text, expected)


OPTIONS: list[tuple[str, list[Line]]] = [
    ("chicken shawarma no garlic", [shawarma(removed=("garlic",))]),
    ("chicken shawarma without onions", [shawarma(removed=("onions",))]),
    ("chicken shawarma hold the pickles", [shawarma(removed=("pickles",))]),
    ("chicken shawarma with cheese", [shawarma(options=("cheese",))]),
    ("chicken shawarma extra cheese", [shawarma(options=("cheese:extra",))]),
    ("chicken shawarma with double cheese", [shawarma(options=("cheese:double",))]),
    ("chicken shawarma light cheese", [shawarma(options=("cheese:light",))]),
    ("chicken shawarma with a little cheese", [shawarma(options=("cheese:light",))]),
    ("chicken shawarma no cheese", [shawarma(removed=("cheese",))]),  # a choice, removed too
    ("chicken shawarma w/o pickles w/ cheese",
     [shawarma(options=("cheese",), removed=("pickles",))]),
    ("chicken shawarma no pickles or onions", [shawarma(removed=("pickles", "onions"))]),
    ("chicken shawarma no pickles, extra cheese",
     [shawarma(options=("cheese:extra",), removed=("pickles",))]),
    ("chicken shawarma with extra meat", [shawarma(options=("extra-meat",))]),
    ("chicken shawarma dont put onions", [shawarma(removed=("onions",))]),
    ("chicken shawarma, leave out the tomatoes", [shawarma(removed=("tomatoes",))]),
    ("no garlic chicken shawarma", [shawarma(removed=("garlic",))]),
    ("double cheese chicken shawarma", [shawarma(options=("cheese:double",))]),
    ("2 beef shawarmas with extra cheese, no pickles and no onions",
     [shawarma(2, options=("cheese:extra",), removed=("pickles", "onions"), beef=True)]),
    ("a margherita large with mushrooms and olives, hold the pepperoni",
     [("margherita-pizza", 1, "large", ("mushrooms", "olives"), ("pepperoni",))]),
    ("cheeseburger medium with bacon, no pickles",
     [("cheeseburger", 1, None, ("medium", "bacon"), ("pickles",))]),
    ("cheeseburger without pickles, medium please",
     [("cheeseburger", 1, None, ("medium",), ("pickles",))]),
]


@pytest.mark.parametrize(("text", "expected"), OPTIONS, ids=[c[0] for c in OPTIONS])
def test_options_and_removals(parser: OrderParser, text: str, expected: list[Line]) -> None:
    check(parser, text, expected)


PLURALS_AND_TYPOS: list[tuple[str, list[Line]]] = [
    ("2 chicken shawarmas", [shawarma(2)]),
    ("fries", [("fries", 1, "small", (), ())]),
    ("a fry", [("fries", 1, "small", (), ())]),
    ("2 margherita pizzas large", [("margherita-pizza", 2, "large", (), ())]),
    ("3 cokes", [("coca-cola", 3, "small", (), ())]),
    ("chiken shawrma", [shawarma()]),
    ("pepsii", [pepsi()]),
    ("2 falafle wraps", [("falafel-wrap", 2, None, (), ())]),  # a transposition
    ("a margarita large", [("margherita-pizza", 1, "large", (), ())]),
    ("chicken shawarma extra chese", [shawarma(options=("cheese:extra",))]),
    ("Chicken SHAWARMA", [shawarma()]),
    ("cocacola", [("coca-cola", 1, "small", (), ())]),
    ("coca cola", [("coca-cola", 1, "small", (), ())]),
    ("cheese burger", [("cheeseburger", 1, None, (), ())]),
    ("2 mixed grills", [("mixed-grill", 2, None, (), ())]),
    ("a knafeh", [("kunafa", 1, None, (), ())]),
]


@pytest.mark.parametrize(("text", "expected"), PLURALS_AND_TYPOS,
                         ids=[c[0] for c in PLURALS_AND_TYPOS])
def test_plurals_and_misspellings(parser: OrderParser, text: str, expected: list[Line]) -> None:
    check(parser, text, expected)


def test_fuzzy_matches_score_below_one_but_above_the_threshold(parser: OrderParser) -> None:
    result = parser.parse("chiken shawrma and a pepsii")
    assert all(MIN_CONFIDENCE <= line.confidence < 1.0 for line in result.lines)
    assert parser.parse("chicken shawarma").lines[0].confidence == 1.0
    assert parser.parse("3 cokes").lines[0].confidence == 1.0  # aliases and plurals are exact


def test_short_words_are_not_corrected_into_other_words(parser: OrderParser) -> None:
    assert lines(parser.parse("like a wing")) == [wings(1)]  # "like" is not "lime"
    result = parser.parse("half a dozen rings")
    assert result.lines == ()  # "rings" is not a typo of "wings"


FILLER: list[tuple[str, list[Line]]] = [
    ("hi can i get 2 chicken shawarma pls", [shawarma(2)]),
    ("Hi 👋 can I get 2 chicken shawarma 🌯 and a large pepsi 🥤 thx!!",
     [shawarma(2), pepsi(1, "large")]),
    ("i want a pepsi please", [pepsi()]),
    ("i'd like two pepsis thanks", [pepsi(2)]),
    ("id like a pepsi", [pepsi()]),
    ("hello, could i please have one beef shawarma? thank you so much",
     [shawarma(beef=True)]),
    ("good evening! let me get a pepsi, that's all", [pepsi()]),
    ("yo gimme 3 pepsi asap", [pepsi(3)]),
]


@pytest.mark.parametrize(("text", "expected"), FILLER, ids=[c[0] for c in FILLER])
def test_filler_politeness_and_emoji(parser: OrderParser, text: str,
                                     expected: list[Line]) -> None:
    result = check(parser, text, expected)
    assert result.unresolved == ()


@pytest.mark.parametrize("text", ["hi", "thanks!", "Hello there 👋", "ok thx", "🙏🙏", "",
                                  "good morning, how are you?", "that's all, thank you"])
def test_chat_alone_gives_an_empty_result(parser: OrderParser, text: str) -> None:
    assert parser.parse(text).empty


NOTES: list[tuple[str, str]] = [
    ("chicken shawarma cut in half", "cut in half"),
    ("large fries extra crispy", "extra crispy"),
    ("a pepsi without ice", "without ice"),
    ("beef shawarma, well done please", "well done"),
    ("beef shawarma extra garlic", "extra garlic"),  # an ingredient cannot be "extra"
]


@pytest.mark.parametrize(("text", "note"), NOTES, ids=[c[0] for c in NOTES])
def test_free_notes_attach_to_their_line(parser: OrderParser, text: str, note: str) -> None:
    result = parser.parse(text)
    assert [line.note for line in result.lines] == [note]
    assert result.unresolved == ()


def test_a_doneness_choice_is_an_option_not_a_note(parser: OrderParser) -> None:
    result = check(parser, "cheeseburger well done",
                   [("cheeseburger", 1, None, ("well-done",), ())])
    assert result.lines[0].note == ""


def test_spans_cover_the_words_of_each_line(parser: OrderParser) -> None:
    text = "hi can i get 2 chicken shawarma no garlic and a large pepsi pls"
    result = parser.parse(text)
    assert [text[s:e] for s, e in (line.span for line in result.lines)] == [
        "2 chicken shawarma no garlic", "a large pepsi"]


def test_to_json_shape(parser: OrderParser) -> None:
    data: dict[str, Any] = parser.parse(
        "2 chiken shawarma extra cheese no garlic, lasagna and pizza").to_json()
    assert set(data) == {"lines", "unresolved"}
    line = data["lines"][0]
    assert set(line) == {"product", "quantity", "variant", "options", "removed", "note",
                         "confidence", "span"}
    assert line["product"] == "chicken-shawarma"
    assert line["options"] == [{"id": "cheese", "qualifier": "extra"}]
    assert line["removed"] == ["garlic"]
    assert isinstance(line["span"], list) and len(line["span"]) == 2
    assert 0 < line["confidence"] < 1
    for entry in data["unresolved"]:
        assert set(entry) == {"text", "reason", "candidates", "span"}
    reasons = {(u["reason"], u["text"]) for u in data["unresolved"]}
    assert reasons == {("unknown", "lasagna"), ("missing_variant", "pizza")}
