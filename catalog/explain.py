"""Translating pydantic validation errors into plain-words problems a shop owner can act on."""

from __future__ import annotations

import difflib
import re
import zoneinfo
from collections.abc import Mapping, Sequence

from pydantic_core import ErrorDetails

from catalog.errors import CatalogProblem, Loc, RawCatalog
from catalog.locate import child, describe, did_you_mean, model_at
from catalog.models import WEEKDAYS, Product, Shop

# What a correct value looks like, for "write it like ..." suggestions.
EXAMPLES = {
    "price": "7.50", "stock": "12", "low_stock_at": "3", "available": "true", "default": "true",
    "min": "0", "max": "1", "id": "chicken-shawarma", "name": "Chicken Shawarma",
    "category": "Wraps", "group": "Extras", "currency": "USD", "timezone": "America/New_York",
    "owner_whatsapp": "15550001111", "fulfillment": "[pickup, delivery]", "choices": "a list",
    "preorders": "false", "minimum_order": "15.00",
}
_CURRENCY_SIGNS = re.compile(r"[$€£¥₹₦]|R\$|\b[A-Za-z]{3}\b")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def unknown_field(key: str, loc: Loc, raw: RawCatalog) -> tuple[str, str]:
    """Message and suggestion for a key the model does not know (usually a typo)."""
    model = model_at(loc)
    allowed = list(model.model_fields)
    message = f"Unknown field '{key}'."
    if model is Product and key == "default":
        product = child(child(raw.data, "products"), loc[1]) if len(loc) > 1 else None
        target = product.get("default") if isinstance(product, Mapping) else None
        return message, (
            f"To make '{target}' the default, write 'default: true' under that variant instead."
        )
    guess = did_you_mean(key, allowed)
    if guess is not None:
        return message, f"Did you mean '{guess}'?"
    if model is not Shop and key in Shop.model_fields:
        return message, f"'{key}' is a shop setting; move it to the shop section."
    return message, f"Remove it, or use one of: {', '.join(allowed)}."


def explain_error(err: ErrorDetails, raw: RawCatalog) -> CatalogProblem | None:
    """The owner-facing problem for one pydantic error, or None for a knock-on error."""
    loc: Loc = tuple(err["loc"])
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    names = [k for k in loc if isinstance(k, str) and k != "[key]"]
    name = names[-1] if names else "file"
    if kind == "too_short" and isinstance(value, Sequence) and len(value) >= ctx["min_length"]:
        return None  # pydantic's echo of an error inside one of the items; that one is reported
    if kind == "extra_forbidden":
        message, suggestion = unknown_field(str(loc[-1]), loc[:-1], raw)
    elif kind == "value_error" and loc == ("shop", "hours"):
        text = str(ctx.get("error", ""))
        day, _, rest = text.partition(": ")
        if day in WEEKDAYS:  # "tue: '9am' is not ..." - point at that day's line instead
            loc, text = (*loc, day), rest
        message, suggestion = _split_sentence(text)
    elif kind in ("value_error", "assertion_error"):
        message, suggestion = _value_error(name, value, str(ctx.get("error", "")))
        if "max" in message.lower() and "options" in loc:
            loc = (*loc, "max")  # the group's bounds are wrong: point at the 'max:' line
    else:
        # Where the owner types the value: a YAML line, a CSV column, or a CSV "shop" row.
        style = "yaml"
        if raw.columns:
            style = "csv-shop" if loc[:1] == ("shop",) and len(loc) > 1 else "csv"
        message, suggestion = _by_type(kind, name, value, ctx, style)
    field = describe(loc, raw.data, raw.columns)
    message = message[:1].upper() + message[1:]
    return CatalogProblem(raw.file, raw.line_for(loc), field, message, suggestion)


def show(value: object) -> str:
    """How a wrong value is quoted back: "abc", an empty value, a list."""
    if value is None or value == "":
        return "an empty value"
    if isinstance(value, str):
        return f'"{value[:40]}…"' if len(value) > 40 else f'"{value}"'
    if isinstance(value, Mapping):
        return "a group of fields"
    if isinstance(value, list | tuple):
        return "a list"
    return f'"{value}"'


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".?!" else f"{text}."


def _split_sentence(text: str) -> tuple[str, str]:
    # Model messages read "what is wrong; what to do" - the halves map onto message/suggestion.
    message, _, suggestion = text.partition("; ")
    return _sentence(message), _sentence(suggestion)


def _value_error(name: str, value: object, text: str) -> tuple[str, str]:
    if name == "id" and isinstance(value, str):
        slug = re.sub(r"[^a-z0-9_]+", "-", value.lower()).strip("-")
        hint = f"Write '{slug}' instead." if slug else "Write it like 'chicken-shawarma'."
        return f"{show(value)} cannot be used as an id: {text}.", hint
    if name == "timezone" and isinstance(value, str):
        guess = _closest_timezone(value)
        if guess:
            return _sentence(text.partition("; ")[0]), f"Did you mean '{guess}'?"
    if "larger than max" in text:
        return _sentence(text), "Make 'min' no larger than 'max'."
    if "only has" in text:
        return _sentence(text), "Lower 'max' or add more choices."
    return _split_sentence(text)


def _closest_timezone(value: str) -> str | None:
    # Only on a mistake: listing the system's time zones reads a few hundred files.
    zones = sorted(zoneinfo.available_timezones())
    lowered = {zone.lower(): zone for zone in zones}
    close = difflib.get_close_matches(value.strip().lower().replace(" ", "_"), list(lowered), 1)
    return lowered[close[0]] if close else None


def _missing(name: str, style: str) -> tuple[str, str]:
    if name == "shop":
        if style != "yaml":
            return "The shop settings are missing.", (
                "Add rows like 'shop,name,Your Shop Name' above the header row."
            )
        return "The 'shop' section is missing.", (
            "Add 'shop:' at the top with at least 'name: Your Shop Name' under it."
        )
    if name == "products":
        return "The 'products' list is missing.", "Add 'products:' with at least one product."
    example = EXAMPLES.get(name, "...")
    if style == "csv-shop":
        return f"'{name}' is missing.", f"Add a row 'shop,{name},{example}' above the header row."
    if style == "csv":
        return f"'{name}' is empty.", f"Fill in the '{name}' column, e.g. {example}."
    return f"'{name}' is missing.", f"Add a line '{name}: {example}'."


def _by_type(
    kind: str, name: str, value: object, ctx: Mapping[str, object], style: str
) -> tuple[str, str]:
    shown = show(value)
    if kind == "missing":
        return _missing(name, style)
    if value is None and name == "shop":
        return "The 'shop' section is empty.", "Under 'shop:' add an indented 'name: Your Shop'."
    if value is None and name == "products":
        return "The 'products' list is empty.", "Add at least one product under 'products:'."
    if value is None and kind.endswith("_type"):  # `name:` with nothing after the colon
        where = {"yaml": f"after '{name}:'", "csv": f"in the '{name}' column",
                 "csv-shop": f"in the third cell of the 'shop,{name}' row"}[style]
        example = EXAMPLES.get(name)
        return f"'{name}' is empty.", (
            f"Write it {where}, e.g. {example}." if example
            else f"Write a value {where}, or remove the line."
        )
    if kind in ("decimal_parsing", "decimal_type", "finite_number"):
        return _price_problem(shown, value, name)
    if kind in ("decimal_max_places", "decimal_max_digits", "decimal_whole_digits"):
        return f"{shown} has too many digits for a price.", "Use at most 4 decimals, like 7.50."
    if kind in ("greater_than_equal", "greater_than"):
        if name == "max":
            return f"{shown} is too small for 'max'.", "A group allows at least 1 choice."
        noun = "A price" if name == "price" else f"'{name}'"
        return f"{shown} is below zero.", f"{noun} cannot be negative; use 0 instead."
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"{shown} is not a whole number.", f"Write a whole number like {_ex(name, '12')}."
    if kind in ("bool_parsing", "bool_type"):
        if name == "default":
            return f"{shown} is not true or false.", (
                "Write 'default: true' on the one variant that should be the default."
            )
        return f"{shown} is not yes or no.", "Write true or false."
    if kind == "string_type":
        # "id: [a, b]" or a nested "name:" block: say which field wanted text, and what it got.
        what = f"The {name} must be text, not {shown}" if isinstance(value, Mapping | list) \
            else f"{shown} should be plain text"
        return f"{what}.", f"Write the {name} on one line, like {_ex(name, 'Large')}."
    if kind == "string_too_short":
        return f"The {name} is empty.", f"Write a {name}, e.g. {_ex(name, 'Large')}."
    if kind == "string_too_long":
        return f"{shown} is too long.", f"Keep it under {ctx.get('max_length')} characters."
    if kind == "string_pattern_mismatch":
        return _pattern_problem(shown, value, name)
    if kind == "literal_error":
        return _literal_problem(shown, value, name, str(ctx.get("expected", "")))
    if kind in ("tuple_type", "list_type"):
        if name == "products":
            return "The products are not written as a list.", (
                "Start every product with '- id: ...' under 'products:'."
            )
        return f"{shown} is not a list.", f"Write it as a list, e.g. {_ex(name, '[a, b]')}."
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"{shown} should be a group of fields.", (
            f"Write the {name} as fields on their own lines, like 'name: ...'."
        )
    if kind == "too_short":
        if name == "products":
            return "There are no products.", "Add at least one product."
        if name == "choices":
            return "This option group has no choices.", (
                "Add at least one choice, or remove the whole option group."
            )
        return f"The {name} list is empty.", f"Add at least one item to '{name}', or remove it."
    return f"{shown} is not accepted for '{name}'.", "Compare it with the sample catalog."


def _ex(name: str, fallback: str) -> str:
    return EXAMPLES.get(name, fallback)


def _price_problem(shown: str, value: object, name: str) -> tuple[str, str]:
    text = value.strip() if isinstance(value, str) else ""
    bare = _CURRENCY_SIGNS.sub("", text).strip()
    if bare != text and _NUMBER.match(bare.replace(",", ".")):
        # "$7.50": accepting it would silently ignore a sign that disagrees with shop.currency.
        return f"{shown} is not a price: it has a currency sign.", (
            f"Write {bare.replace(',', '.')} without the currency sign; the currency is set "
            "once, in the shop settings."
        )
    if _NUMBER.match(text.replace(",", ".")):
        return f"{shown} is not a price: it uses a comma.", (
            f"Write {text.replace(',', '.')} with a point, not a comma."
        )
    if name == "price" and isinstance(value, str) and value.strip().lower() == "free":
        return f"{shown} is not a price.", "Write 0 for a free item."
    return f"{shown} is not a price.", "Write a number like 7.50."


def _pattern_problem(shown: str, value: object, name: str) -> tuple[str, str]:
    if name == "currency":
        upper = str(value).strip().upper()
        fix = f"Write '{upper}'." if re.fullmatch(r"[A-Z]{3}", upper) else ""
        return f"{shown} is not a currency code.", (
            f"Use the 3-letter code in capitals, like USD or EUR. {fix}".strip()
        )
    if name == "owner_whatsapp":
        digits = re.sub(r"\D", "", str(value))
        return f"{shown} is not a WhatsApp number.", (
            f"Write the number with its country code, digits only, e.g. {digits or '15550001111'}."
        )
    return f"{shown} is not allowed for '{name}'.", f"Write it like {_ex(name, 'the sample')}."


def _literal_problem(shown: str, value: object, name: str, expected: str) -> tuple[str, str]:
    options = re.findall(r"'([^']*)'", expected)
    guess = did_you_mean(str(value), options) if options else None
    what = "a day" if set(options) == set(WEEKDAYS) else f"a valid {name}"
    hint = f"Did you mean '{guess}'? " if guess else ""
    return f"{shown} is not {what}.", f"{hint}Use one of: {', '.join(options)}."
