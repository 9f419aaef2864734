"""Browsing the menu with WhatsApp list messages: category pages, item pages, typed picks. Pure.

A list message holds at most 10 rows, so a longer list is cut into pages: 9 rows and a "More…"
row that opens the next page (the last page may use all 10). Every row id says what a tap
does, so a tap works without remembering anything; the id of a page is kept in the
conversation only so that a typed number ("3") can be read against the page last shown.

Row ids (at most 13 characters plus a category name or product id, both at most 80):
    menu:cats:<page>             the categories, page <page> (0-based)
    menu:cat:<page>:<category>   the items of <category>, page <page>
    menu:add:<product id>        put one of the product (its default variant) in the cart
Categories are named rather than numbered so an id stays right when the shop adds one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz

from bot import texts
from bot.replies import ButtonsReply, ListReply, TextReply
from catalog.catalog import Catalog
from catalog.models import Product

MAX_ROWS = 10
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_LIST_BUTTON = 20
MAX_SECTION_TITLE = 24
PREFIX = "menu:"
_CATEGORY_CUTOFF = 85  # "deserts" -> Desserts, but "pizza margherita" is not the Pizza category
_NUMBER = re.compile(r"^(?:#|no\.?|number|option|nr\.?)?\s*(\d{1,4})\s*[.)]?$")
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
             "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10}
# Asking to see the menu (a greeting also shows it, with a welcome).
ASK_WORDS = frozenset({"menu", "the menu", "show menu", "show me the menu", "see the menu",
                       "see menu", "menu list", "full menu", "your menu", "what do you have",
                       "what do you sell", "browse", "categories", "catalog", "catalogue"})
_MORE = {"more", "more please", "next", "next page", "show more", "see more", "more items"}
_BACK = {"back", "go back", "categories", "all categories", "main menu"}
_FILLER = {"please", "pls", "plz", "thanks", "thank", "you", "thx", "ok", "okay"}
_ONLY_WORDS = re.compile(r"[^\w#.]+")


@dataclass(frozen=True)
class ShowCategories:
    page: int = 0


@dataclass(frozen=True)
class ShowCategory:
    category: str
    page: int = 0


@dataclass(frozen=True)
class AddItem:
    product_id: str


@dataclass(frozen=True)
class BadNumber:
    """A typed number that is not on the page shown: the customer is told the range."""

    count: int


Listing = ShowCategories | ShowCategory
Target = Listing | AddItem
Pick = Target | BadNumber


@dataclass(frozen=True)
class Row:
    id: str
    title: str
    description: str = ""


@dataclass(frozen=True)
class Page:
    kind: Literal["categories", "items"]
    number: int  # 0-based
    count: int  # how many pages this list has
    rows: tuple[Row, ...]  # the More… row, when there is one, is last
    category: str = ""

    @property
    def id(self) -> str:
        """The id that shows this page again (what the conversation keeps for typed numbers)."""
        if self.kind == "categories":
            return categories_id(self.number)
        return category_id(self.category, self.number)


def categories_id(page: int) -> str:
    return f"{PREFIX}cats:{page}"


def category_id(category: str, page: int) -> str:
    return f"{PREFIX}cat:{page}:{category}"


def add_id(product_id: str) -> str:
    return f"{PREFIX}add:{product_id}"


def read_id(row_id: str) -> Target | None:
    """What a menu row id asks for; None when it is not one we make (old, edited, foreign)."""
    if not row_id.startswith(PREFIX):
        return None
    kind, _, rest = row_id[len(PREFIX):].partition(":")
    if kind == "add":
        return AddItem(rest) if rest else None
    if kind == "cats":
        return ShowCategories(int(rest)) if _is_page(rest) else None
    if kind == "cat":
        page, _, category = rest.partition(":")
        return ShowCategory(category, int(page)) if _is_page(page) and category else None
    return None


def _is_page(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 4


def listable(product: Product, stock: Mapping[str, int]) -> bool:
    """Offered in the menu: available and not sold out (live stock first, else the catalog's)."""
    left = stock.get(product.id, product.stock)
    return product.available and (left is None or left > 0)


def items_in(catalog: Catalog, category: str, stock: Mapping[str, int]) -> list[Product]:
    return [p for p in catalog.products if p.category == category and listable(p, stock)]


def categories(catalog: Catalog, stock: Mapping[str, int]) -> list[str]:
    """Categories that have something to offer, in catalog order."""
    offered = {p.category for p in catalog.products if listable(p, stock)}
    return [c for c in catalog.categories() if c in offered]


def page_for(target: Listing, catalog: Catalog,
             stock: Mapping[str, int]) -> Page | None:
    """The page a target shows; None when there is nothing to show (category gone or sold out).

    A page number past the end (the menu got shorter since the list was sent) shows the last.
    """
    if isinstance(target, ShowCategories):
        names = categories(catalog, stock)
        counts = {name: len(items_in(catalog, name, stock)) for name in names}
        rows = [Row(category_id(name, 0), shorten(name, MAX_ROW_TITLE), _count_text(counts[name]))
                for name in names]
        return _page("categories", rows, target.page, categories_id)
    products = items_in(catalog, target.category, stock)
    rows = [Row(add_id(p.id), p.name, price_text(p, catalog)) for p in products]
    return _page("items", rows, target.page,
                 lambda n: category_id(target.category, n), target.category)


def _page(kind: Literal["categories", "items"], rows: list[Row], wanted: int,
          page_id: Callable[[int], str], category: str = "") -> Page | None:
    if not rows:
        return None
    starts = page_starts(len(rows))
    number = min(max(wanted, 0), len(starts) - 1)
    start = starts[number]
    end = starts[number + 1] if number + 1 < len(starts) else len(rows)
    shown = _titled(rows[start:end])
    if number + 1 < len(starts):
        shown.append(Row(page_id(number + 1), shorten(texts.text("menu_more_row"), MAX_ROW_TITLE),
                         texts.text("menu_more_description", page=number + 2,
                                    pages=len(starts))[:MAX_ROW_DESCRIPTION]))
    return Page(kind, number, len(starts), tuple(shown), category)


def page_starts(total: int) -> list[int]:
    """Where each page starts: 9 rows and More… per page; the last page may take 10."""
    starts = [0]
    while total - starts[-1] > MAX_ROWS:
        starts.append(starts[-1] + MAX_ROWS - 1)
    return starts


def _titled(rows: Sequence[Row]) -> list[Row]:
    """Rows with titles that fit; a shortened name is shown whole in the description."""
    return [row if len(row.title) <= MAX_ROW_TITLE else
            Row(row.id, shorten(row.title, MAX_ROW_TITLE),
                shorten(f"{row.description} · {row.title}", MAX_ROW_DESCRIPTION, at_word=True))
            for row in rows]


def shorten(text: str, limit: int, *, at_word: bool = False) -> str:
    """Cut to `limit` characters ending in "…".

    Titles are cut at the limit, not at a word: grocery names share long brand prefixes
    ("Alpine Fresh Organic Feta Cheese"), and cutting at a word would make rows look alike.
    """
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if at_word and space >= limit * 2 // 3:
        cut = cut[:space]
    return cut.rstrip(" ,;:&-·") + "…"


def price_text(product: Product, catalog: Catalog) -> str:
    """What one costs: the default variant's price, else "from" the cheapest variant."""
    default = product.default_variant
    if default is not None or not product.variants:
        return catalog.format_money(product.unit_price(default.id if default else None))
    prices = {product.unit_price(v.id) for v in product.variants}
    cheapest = catalog.format_money(min(prices))
    return cheapest if len(prices) == 1 else texts.text("menu_from", price=cheapest)


def _count_text(count: int) -> str:
    return texts.text("menu_count_one") if count == 1 else texts.text("menu_count", count=count)


def body(page: Page, intro: str | None = None) -> str:
    """The text above the list: an introduction, and where we are when there are pages."""
    if page.kind == "categories":
        text = intro or texts.text("menu_categories", button=texts.text("menu_button"))
    else:
        text = texts.text("menu_items", category=page.category,
                          button=texts.text("menu_items_button"))
    if page.count > 1:
        text += "\n" + texts.text("menu_page", page=page.number + 1, pages=page.count)
    return text


def render(page: Page, intro: str | None = None) -> ListReply | TextReply:
    """The page as a list message, or as numbered text when the shop's wording cannot be one."""
    text = body(page, intro)
    button = texts.text("menu_button" if page.kind == "categories" else "menu_items_button")
    section = (texts.text("menu_section_categories") if page.kind == "categories"
               else page.category)
    if len(button) <= MAX_LIST_BUTTON and button.strip():
        return ListReply(body=text, button=button,
                         rows=tuple((r.id, r.title, r.description) for r in page.rows),
                         section=shorten(section, MAX_SECTION_TITLE))
    return TextReply(numbered_text(page, text))


def numbered_text(page: Page, intro: str) -> str:
    """The page as text: one numbered row a line; the customer types a number or a name."""
    lines = [intro, ""]
    for number, row in enumerate(page.rows, 1):
        lines.append(f"{number}. {row.title}" + (f" — {row.description}" if row.description
                                                  else ""))
    lines.append(texts.text("menu_type_number"))
    return "\n".join(lines)


def read_pick(page: Page, text: str, catalog: Catalog, stock: Mapping[str, int]) -> Pick | None:
    """What a typed answer to a menu page picks: a row by number, the next page, a category.

    Item names are left to the order parser (it knows aliases, sizes and typos); None means
    the text is not a menu pick and should be read as an order.
    """
    words = " ".join(w for w in _ONLY_WORDS.sub(" ", text.casefold()).split()
                     if w not in _FILLER).strip(" .")
    if not words:
        return None
    number = _number(words)
    if number is not None:
        if not 1 <= number <= len(page.rows):
            return BadNumber(len(page.rows))
        return read_id(page.rows[number - 1].id)
    if words in _MORE:
        more = page.rows[-1].id if page.number + 1 < page.count else None
        return read_id(more) if more else None
    if words in _BACK:
        return ShowCategories(0)
    category = category_named(words, catalog, stock, loose=page.kind == "categories")
    return ShowCategory(category) if category else None


def _number(words: str) -> int | None:
    match = _NUMBER.match(words)
    if match:
        return int(match.group(1))
    tokens = words.split()
    if tokens and tokens[0] == "the":
        tokens = tokens[1:]
    if tokens and tokens[-1] == "one":
        tokens = tokens[:-1]
    return _ORDINALS.get(tokens[0]) if len(tokens) == 1 else None


def category_named(words: str, catalog: Catalog, stock: Mapping[str, int], *,
                   loose: bool) -> str | None:
    """The category the words name exactly; with `loose` (on the category page, where a name
    is expected) also one of its parts ("coffee" for "Coffee & Tea") or a near spelling."""
    names = categories(catalog, stock)
    for name in names:
        if words == name.casefold():
            return name
    if not loose:
        return None
    for name in names:
        if words in {p.strip() for p in re.split(r"[&,/]| and ", name.casefold())}:
            return name
    scored = [(fuzz.ratio(words, name.casefold()), name) for name in names]
    best = max(scored, default=(0.0, ""))
    return best[1] if best[0] >= _CATEGORY_CUTOFF else None


def is_menu(reply: ListReply | ButtonsReply) -> bool:
    """A list of menu rows (as opposed to a question or a summary)."""
    return isinstance(reply, ListReply) and any(r[0].startswith(PREFIX) for r in reply.rows)
