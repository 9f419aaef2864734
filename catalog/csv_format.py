"""The CSV catalog format for spreadsheet users, and reading it into the same data as YAML.

Open the file in Excel or LibreOffice: every line is a row, nothing needs tricks.

    shop,name,Sahara Grill
    shop,currency,USD
    shop,timezone,America/New_York
    shop,hours.mon,11:00-23:00
    shop,hours.fri,11:00-15:00|17:00-02:00
    shop,hours.sun,closed
    shop,fulfillment,pickup|delivery
    shop,owner_whatsapp,15550001111
    shop,preorders,no
    shop,minimum_order,15.00

    id,name,category,price,aliases,available,stock,low_stock_at,variants,ingredients,options
    chicken-shawarma,Chicken Shawarma,Wraps,8.99,shawerma|djej,yes,,,Regular*|Large=11.99,...

Shop settings: rows above the header whose first cell is `shop`; the second cell names the
setting, the third holds its value. Settings: name (required), currency (USD), timezone
(America/New_York), fulfillment (pickup|delivery), owner_whatsapp (digits with country code),
preorders (yes/no: take orders while closed, to prepare at opening), minimum_order (a price)
and hours.mon ... hours.sun (`11:00-23:00`, several ranges `11:00-15:00|17:00-02:00`, a range
past midnight like `18:00-02:00`, or `closed`). An empty value cell means the default.

Header row: the first row after the shop rows names the columns, in any order and any case
("Low stock at" = low_stock_at). Required: name and price. Optional: id (made from the name
when empty: "Chicken Shawarma" -> chicken-shawarma), category, aliases, available (yes/no, empty
= yes), stock and low_stock_at (whole numbers; empty = not counted), variants, ingredients,
options, retailer_id (the item's id in your WhatsApp catalog, for WhatsApp carts). One
product per row below it. Empty rows are skipped; a row whose first cell starts with `#` is a
comment. Problems give the line in the file: the spreadsheet's row number, unless
a cell above holds several lines of text.

Prices are plain numbers with a point: 7.50 (no currency sign, no decimal comma).

Mini-syntaxes inside cells (`|`, `(`, `)`, `=`, `*`, `+`, `;`, `[`, `]` are reserved there):
- lists use `|`: aliases `coke|coca cola`.
- a named item is `Name(alias|alias)`: the display name, then other names in parentheses. Its
  id is made from the name: lower case, other characters become '-' ("Garlic sauce" ->
  garlic-sauce).
- variants: `Regular*|Large(big|xl)=11.99`. `=price` is optional (the product's price then);
  `*` marks the default variant. Without a `*` the bot asks which one the customer wants.
  `@id` at the end gives the variant's retailer id: `Regular*@SKU-SHW-R|Large=11.99@SKU-SHW-L`.
- ingredients: `Garlic sauce(garlic|toum)|Pickles|Onions`.
- options: groups separated by `;`, each `Group[min-max]: Choice+price|Choice|...`, e.g.
  `Extras[0-3]: Cheese+1.00|Extra meat+3.00; Doneness[1]: Medium|Well done`. `[1]` means
  exactly one (a required question), `[0-3]` up to three, no brackets at most one, optional.
  `+1.00` is added to the price, `-0.50` is a discount, nothing means free.

Files may be comma-, semicolon- or tab-separated, UTF-8 (with or without BOM) or Windows-1252.
"""

from __future__ import annotations

import csv
import functools
import io
import re
import unicodedata
from collections.abc import Callable
from typing import NamedTuple

from catalog.errors import RawCatalog
from catalog.locate import did_you_mean
from catalog.models import WEEKDAYS

COLUMNS = ("id", "name", "category", "price", "aliases", "available", "stock", "low_stock_at",
           "variants", "ingredients", "options", "retailer_id")
REQUIRED_COLUMNS = ("name", "price")
SHOP_KEYS = ("name", "currency", "timezone", "fulfillment", "owner_whatsapp", "preorders",
             "minimum_order", *(f"hours.{day}" for day in WEEKDAYS))
_PLAIN_COLUMNS = frozenset(("id", "name", "category", "price", "available", "stock",
                            "low_stock_at", "retailer_id"))
_DELIMITER = re.compile(rf'^\s*"?(?:shop|{"|".join(COLUMNS)})"?\s*([,;\t])',
                        re.IGNORECASE | re.MULTILINE)
_GROUP = re.compile(r"^(?P<name>[^\[\]:]+?)\s*(?:\[\s*(?P<min>\d+)\s*(?:-\s*(?P<max>\d+)\s*)?\])?"
                    r"\s*:\s*(?P<choices>.*)$", re.DOTALL)
_NAMED = re.compile(r"^(?P<name>[^()]*?)\s*(?:\((?P<aliases>[^()]*)\))?$", re.DOTALL)
_DISCOUNT = re.compile(r"-\s*[$€£]?\s*\d[\d.,]*\s*$")
# Text whose brackets are all closed and none inside another: "Large(big|xl)=11.99|Small".
_FLAT = re.compile(r"[^()\[\]]*(?:(?:\([^()\[\]]*\)|\[[^()\[\]]*\])[^()\[\]]*)*")


class CellError(ValueError):
    """A cell whose mini-syntax cannot be read; carries the owner-facing explanation."""

    def __init__(self, message: str, suggestion: str) -> None:
        super().__init__(message)
        self.message = message
        self.suggestion = suggestion


def parse_csv(content: bytes, file: str) -> RawCatalog:
    """Read CSV bytes into catalog data; format mistakes become problems with row and column."""
    raw = RawCatalog(file=file, data=None, columns=True)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on Windows saves "CSV" in the ANSI code page unless told otherwise.
        text = content.decode("cp1252", errors="replace")
    if not text.strip():
        raw.problem(None, "", "The file is empty.",
                    "Start with 'shop' rows and a header row 'id,name,category,price,...'.")
        return raw
    match = _DELIMITER.search(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=match[1] if match else ",")
    shop: dict[str, object] = {}
    products: list[object] = []
    data: dict[str, object] = {"products": products}
    header: list[str | None] | None = None
    plan: _Plan | None = None
    lines = raw.lines
    end = 0
    for row in reader:
        line, end = end + 1, reader.line_num
        cells = list(map(str.strip, row))
        while cells and not cells[-1]:  # spreadsheets pad rows with empty cells
            cells.pop()
        if not cells or cells[0].startswith("#"):
            continue
        if header is None and cells[0].lower() == "shop":
            _shop_row(raw, shop, cells, line)
        elif header is None:
            if not any(_column_name(c) in COLUMNS for c in cells):
                raw.problem(line, "", "The row after the shop settings should name the columns.",
                            f"Add a header row like: {','.join(COLUMNS)}.")
                return raw  # without a header no row can be read; one problem says it all
            header = _header(raw, cells, line)
        elif len(cells) <= 3 and cells[0].lower() == "shop":
            raw.problem(line, "shop", "This shop setting is below the header row.",
                        "Move the row up, above the row with the column names.")
        else:
            plan = plan or _Plan.of(header)
            lines["products", len(products)] = line
            products.append(_product(raw, plan, cells, line, len(products)))
    if shop:
        data["shop"] = shop
    if header is None:
        raw.problem(None, "", "There is no header row naming the columns.",
                    f"Add a row with the column names, starting with: {','.join(COLUMNS)}.")
        return raw
    if any(name not in header for name in REQUIRED_COLUMNS):
        return raw  # the header problem explains it; every row repeating it would bury it
    raw.data = data
    return raw


def _shop_row(raw: RawCatalog, shop: dict[str, object], cells: list[str], line: int) -> None:
    raw.lines.setdefault(("shop",), line)
    key = _column_name(cells[1]) if len(cells) > 1 else ""
    key = re.sub(r"^hours[_.:]*(?=[a-z])", "hours.", key)  # "Hours Mon" means hours.mon
    value = cells[2] if len(cells) > 2 else ""
    if key not in SHOP_KEYS:
        guess = did_you_mean(key, SHOP_KEYS)
        hint = f"Did you mean '{guess}'?" if guess else f"Use one of: {', '.join(SHOP_KEYS)}."
        raw.problem(line, f"shop > {cells[1] if len(cells) > 1 else ''}".strip(),
                    f"Unknown shop setting '{cells[1] if len(cells) > 1 else ''}'.", hint)
        return
    if len(cells) > 3:
        raw.problem(line, f"shop > {key}", "This setting has more than one value cell.",
                    "Put the value in the third cell only; separate several values with '|'.")
    loc = ("shop", *key.split("."))
    if loc in raw.lines:
        raw.problem(line, f"shop > {key}",
                    f"The setting '{key}' is given twice (also on line {raw.lines[loc]}).",
                    "Keep one of the two rows.")
        return
    raw.lines[loc] = line
    if not value:
        return  # an empty cell means "the default", as it does in product rows
    if key.startswith("hours."):
        hours = shop.setdefault("hours", {})
        raw.lines.setdefault(("shop", "hours"), line)
        assert isinstance(hours, dict)
        hours[loc[-1]] = value if value.lower() == "closed" else _split_plain(value)
    elif key == "fulfillment":
        shop[key] = [v.strip().lower() for v in re.split(r"[|,;]", value) if v.strip()]
    else:
        shop[key] = value


def _header(raw: RawCatalog, cells: list[str], line: int) -> list[str | None]:
    raw.lines[("products",)] = line
    # None marks a column already reported as unknown; "" a column with no name at all.
    header: list[str | None] = []
    for cell in cells:
        name = _column_name(cell)
        if not name:
            header.append("")
        elif name in header:
            raw.problem(line, f"column '{cell}'", f"The column '{cell}' appears twice.",
                        "Keep one of them and delete the other.")
            header.append(None)
        elif name not in COLUMNS:
            guess = did_you_mean(name, COLUMNS)
            hint = f"Did you mean '{guess}'?" if guess else f"Columns are: {', '.join(COLUMNS)}."
            raw.problem(line, f"column '{cell}'", f"Unknown column '{cell}'.", hint)
            header.append(None)
        else:
            header.append(name)
    for name in REQUIRED_COLUMNS:
        if name not in header:
            raw.problem(line, f"column '{name}'", f"The '{name}' column is missing.",
                        f"Add a column named '{name}' to the header row.")
    return header


class _Plan(NamedTuple):
    """Where the header put each column, worked out once for all the product rows."""

    width: int
    plain: tuple[tuple[int, str], ...]  # (index, column) of the columns copied as they are
    read: tuple[tuple[int, str, Callable[[str], object]], ...]  # mini-syntax columns
    name: int  # index of the name column, or -1
    blank: tuple[int, ...]  # columns without a name
    # Big catalogs repeat the same cells ("Small*|Large=2.50") on thousands of rows: each is
    # read once and the rows share the result (nothing changes it afterwards).
    cells_read: dict[tuple[str, str], object]

    @classmethod
    def of(cls, header: list[str | None]) -> _Plan:
        where = {column: i for i, column in enumerate(header) if column}
        return cls(
            len(header),
            tuple((i, column) for i, column in enumerate(header) if column in _PLAIN_COLUMNS),
            tuple((where[column], column, parse) for column, parse in _CELL_PARSERS
                  if column in where),
            where.get("name", -1),
            tuple(i for i, column in enumerate(header) if column == ""),
            {},
        )


def _product(
    raw: RawCatalog, plan: _Plan, cells: list[str], line: int, index: int
) -> dict[str, object]:
    size = len(cells)
    product: dict[str, object] = {
        column: cells[i] for i, column in plan.plain if i < size and cells[i]}
    if "id" not in product and 0 <= plan.name < size and cells[plan.name]:
        product["id"] = slug(cells[plan.name])
    if any(cells[plan.width:]) or (plan.blank and any(cells[i] for i in plan.blank if i < size)):
        raw.problem(line, _label(product, index),
                    "This row has a value in a column without a known header.",
                    "A comma inside a value splits the cell: put the value in quotes, or remove "
                    "the extra cell.")
    cells_read = plan.cells_read
    for i, column, parse in plan.read:
        text = cells[i] if i < size else ""
        if not text:
            continue
        value = cells_read.get((column, text)) if column != "aliases" else None
        if value is None:
            try:
                value = parse(text)
            except CellError as exc:
                raw.problem(line, f"{_label(product, index)} > column '{column}'", exc.message,
                            exc.suggestion)
                continue
            if column != "aliases":  # aliases are seldom the same on two rows
                cells_read[column, text] = value
        product[column] = value
    return product


def _label(product: dict[str, object], index: int) -> str:
    return f"product '{product['id']}'" if product.get("id") else f"product #{index + 1}"


def _column_name(cell: str) -> str:
    return re.sub(r"[\s-]+", "_", cell.strip().lower().lstrip("\ufeff"))


def _split_plain(text: str) -> list[str]:
    parts = [part.strip() for part in text.split("|")]
    return [part for part in parts if part]


def slug(text: str) -> str:
    """The id made from a display name: "Crème Brûlée" -> creme-brulee."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _split(text: str, separators: str) -> list[str]:
    """Split at top-level separators (not inside parentheses or brackets), dropping blanks."""
    if _FLAT.fullmatch(text):  # every bracket closed, none inside another: one regex cuts it
        pieces: list[str] = _parts_between(separators).findall(text)
        return [p.strip() for p in pieces if p.strip()]
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
            if depth < 0:
                raise CellError(f'"{text}" has a closing bracket without an opening one.',
                                "Check the parentheses: every ')' needs a '(' before it.")
        if char in separators and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if depth:
        raise CellError(f'"{text}" has an opening bracket that is never closed.',
                        "Close it: 'Garlic sauce(garlic|toum)'.")
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


@functools.cache
def _parts_between(separators: str) -> re.Pattern[str]:
    """The text between top-level `separators`; only for text that _FLAT matches."""
    plain = f"[^{re.escape(separators)}()\\[\\]]"
    return re.compile(rf"(?:{plain}|\([^()\[\]]*\)|\[[^()\[\]]*\])+")


def parse_named(text: str) -> dict[str, object]:
    """`Garlic sauce(garlic|toum)` -> {"id": "garlic-sauce", "name": ..., "aliases": [...]}."""
    match = _NAMED.match(text.strip())
    name = match["name"].strip() if match else ""
    if not match or not name:
        raise CellError(f'"{text}" is not a name with aliases.',
                        "Write the name, then other names in parentheses: Large(big|xl).")
    item: dict[str, object] = {"id": slug(name), "name": name}
    if not item["id"]:
        raise CellError(f'No id can be made from "{name}".',
                        "Start the name with Latin letters or digits; put other spellings in "
                        "parentheses after it.")
    if match["aliases"]:
        item["aliases"] = _split(match["aliases"], "|")
    return item


def parse_named_list(text: str) -> list[dict[str, object]]:
    """Ingredients: `Garlic sauce(garlic|toum)|Pickles`."""
    return [parse_named(part) for part in _split(text, "|")]


def parse_variants(text: str) -> list[dict[str, object]]:
    """`Regular*|Large(big)=11.99@SKU-L`: name, aliases, optional price, `*` for the default,
    optional `@retailer id`."""
    variants = []
    for whole in _split(text, "|"):
        part, retailer_id = _retailer_id(whole)
        default = part.endswith("*")
        body = part.rstrip("*").strip()
        label, equals, price = body.rpartition("=") if "=" in body else (body, "", "")
        if label.rstrip().endswith("*"):  # `Regular*=7.50` means the same as `Regular=7.50*`
            default, label = True, label.rstrip().rstrip("*")
        variant = parse_named(label)
        if equals:
            if not price.strip():
                raise CellError(f'"{part}" has "=" but no price after it.',
                                "Write the price after '=', like Large=11.99, or drop the '='.")
            variant["price"] = price.strip()
        if default:
            variant["default"] = "true"
        if retailer_id:
            variant["retailer_id"] = retailer_id
        variants.append(variant)
    return variants


def _retailer_id(part: str) -> tuple[str, str]:
    """`Large=11.99@SKU-L` -> ("Large=11.99", "SKU-L"); a `*` after the id still marks the
    default. The first `@` outside the aliases' parentheses starts the id."""
    depth = 0
    for index, char in enumerate(part):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "@" and depth == 0:
            label, retailer_id = part[:index].strip(), part[index + 1:].strip()
            if retailer_id.endswith("*"):
                label, retailer_id = label + "*", retailer_id.rstrip("*").strip()
            if not retailer_id:
                raise CellError(f'"{part}" has "@" but no retailer id after it.',
                                "Write the id from your WhatsApp catalog after '@', like "
                                "Large=11.99@SKU-L, or drop the '@'.")
            return label, retailer_id
    return part, ""


def parse_options(text: str) -> list[dict[str, object]]:
    """`Extras[0-3]: Cheese+1.00|Extra meat+3.00; Doneness[1]: Medium|Well done`."""
    groups = []
    for part in _split(text, ";"):
        match = _GROUP.match(part)
        if not match:
            raise CellError(f'"{part}" is not an option group.',
                            "Write the group name, a ':' and the choices: "
                            "Extras[0-3]: Cheese+1.00|Fries inside+1.50.")
        group: dict[str, object] = {"group": match["name"].strip()}
        if match["min"] is not None:
            group["min"] = match["min"]
            group["max"] = match["max"] if match["max"] is not None else match["min"]
        group["choices"] = [_choice(c) for c in _split(match["choices"], "|")]
        if not group["choices"]:
            raise CellError(f'The group "{group["group"]}" has no choices after the ":".',
                            "List the choices separated by '|': Medium|Well done.")
        groups.append(group)
    return groups


def _choice(text: str) -> dict[str, object]:
    label, price = text, ""
    plus = _top_level_rfind(text, "+")
    discount = _DISCOUNT.search(text)
    if plus >= 0:
        label, price = text[:plus], text[plus + 1:].strip()
    elif discount:
        label, price = text[: discount.start()], discount[0].replace(" ", "")
    choice = parse_named(label)
    if price:
        choice["price"] = price
    elif plus >= 0:
        raise CellError(f'"{text}" has "+" but no price after it.',
                        "Write the extra charge after '+', like Cheese+1.00.")
    return choice


def _top_level_rfind(text: str, char: str) -> int:
    depth = 0
    for index in range(len(text) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(text[index], 0)
        if text[index] == char and depth == 0:
            return index
    return -1


# The columns holding a mini-syntax, and how each is read.
_CELL_PARSERS: tuple[tuple[str, Callable[[str], object]], ...] = (
    ("aliases", _split_plain), ("variants", parse_variants),
    ("ingredients", parse_named_list), ("options", parse_options),
)
