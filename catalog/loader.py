"""Loading a catalog file (YAML or CSV) into a `Catalog`, reporting every mistake at once.

Prices are written as plain numbers ("7.50"). A currency sign ("$7.50") is rejected with a
suggestion rather than stripped: the currency is set once in the shop settings, and accepting a
sign that disagrees with it ("€7.50" in a USD shop) would silently charge the wrong amount.
Decimal commas ("7,50") are rejected the same way, since "1,000" could mean a thousand.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from catalog.catalog import Catalog
from catalog.csv_format import parse_csv
from catalog.errors import CatalogError, CatalogProblem, Loc, RawCatalog
from catalog.explain import explain_error, show
from catalog.locate import describe
from catalog.models import CatalogFile, Ingredient, OptionGroup, Variant
from catalog.yaml_fast import load_plain_yaml, load_plain_yaml_lines
from catalog.yaml_lines import parse_yaml

YAML_SUFFIXES = (".yaml", ".yml")
CSV_SUFFIXES = (".csv",)
_TRUE = {"true", "yes", "on", "1", "y", "t"}
# Whitespace other than the space (what str.split() also splits at).
_OTHER_SPACE = re.compile("[\t\n\x0b-\r\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f"
                          "\u205f\u3000]")
# An alias that is only a number (with a sign, a currency sign or decimals, as a misplaced
# price or stock would be written).
_NUMBER_ALIAS = re.compile(r"\s*[-+]?\s*[$€£]?\s*\d+(?:[.,]\d+)?\s*")
# CSV cells that hold one text, and what makes such a cell a list or a group ("Wrap|Roll",
# "[a, b]", "{a: b}"): the characters the CSV format reserves for lists.
_TEXT_COLUMNS = ("name", "category")
_LIST_MARKS = "|[]{}"
_LISTED = re.compile(r"[|\[\]{}]")
# Item lists inside a product whose ids must be unique and whose names must not overlap.
_ITEM_LISTS = (("variants", "variant"), ("ingredients", "ingredient"))


def load_catalog(path: str | Path) -> Catalog:
    """Read and validate a .yaml/.yml (canonical) or .csv catalog; raise CatalogError if wrong."""
    file = Path(path)
    try:
        content = file.read_bytes()
    except FileNotFoundError:
        raise _single(file.name, "The catalog file does not exist.",
                      f"Check the path: {file}") from None
    except OSError as exc:
        raise _single(file.name, f"The catalog file cannot be read ({exc.strerror}).",
                      "Check that it is a file and that the bot may read it.") from None
    return load_catalog_bytes(content, file.name, source=str(file))


def load_catalog_bytes(content: bytes, name: str, source: str | None = None) -> Catalog:
    """Validate catalog file contents; `name` (e.g. 'menu.csv') picks the format by its suffix."""
    suffix = Path(name).suffix.lower()
    if suffix not in YAML_SUFFIXES + CSV_SUFFIXES:
        raise _single(name, f"'{suffix or name}' is not a catalog file type.",
                      "Save the catalog as .yaml (recommended) or .csv.")
    # Building millions of small dicts and lists makes the cycle collector rescan them over and
    # over (a third of the time on big catalogs); none of them can form a cycle worth collecting.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return Catalog(_read(content, name, suffix), source=source or name)
    finally:
        if collecting:
            gc.enable()


def _read(content: bytes, name: str, suffix: str) -> CatalogFile:
    # Lines only matter for explaining a mistake. A good file is read without them and checked
    # without wording any problem; only when that finds something is it read again the exact
    # way, so every mistake is reported just as before, with its line.
    if suffix in YAML_SUFFIXES:
        data = load_plain_yaml(content)
        model = None if data is None else validated_quickly(data)
        if model is not None:
            return model
        # The quick reader can note the lines too (much faster than libyaml's events), the
        # same way; the full reader is only needed for YAML beyond it, syntax mistakes included.
        raw = None if data is None else load_plain_yaml_lines(content, name)
        return validate(raw or parse_yaml(content, name))
    raw = parse_csv(content, name)  # the CSV reader notes each row's line as it goes
    model = None if raw.problems or raw.data is None else validated_quickly(raw.data, csv=True)
    return model or validate(raw)


def validate(raw: RawCatalog) -> CatalogFile:
    """Validate parsed data and run the checks that span products; raise with every problem."""
    problems = list(raw.problems)
    model: CatalogFile | None = None
    if raw.data is not None:
        model = _validate(raw, problems)
    if model is None and not problems:  # only knock-on errors; should not happen, but say so
        problems.append(CatalogProblem(raw.file, None, "", "The catalog is not valid.",
                                       "Compare it with the sample catalog."))
    if problems or model is None:
        raise CatalogError(_ordered(problems))
    return model


def _validate(raw: RawCatalog, problems: list[CatalogProblem]) -> CatalogFile | None:
    if not isinstance(raw.data, Mapping):
        problems.append(CatalogProblem(
            raw.file, raw.line_for(()), "",
            f"The file starts with {show(raw.data)} instead of the catalog's sections.",
            "The file needs a 'shop:' section and a 'products:' list at the top level.",
        ))
        return None
    checker = _CrossChecker(raw)
    checker.run()
    problems += checker.problems
    try:
        return CatalogFile.model_validate(raw.data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            # Product-level rules (one default, unique ids) were already reported with exact lines.
            if err["type"] == "value_error" and len(loc) == 2 and loc[1] in checker.flagged:
                continue
            problem = explain_error(err, raw)
            if problem is not None:
                problems.append(problem)
    return None


def _ordered(problems: list[CatalogProblem]) -> list[CatalogProblem]:
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: -1 if p.line is None else p.line)


def _single(file: str, message: str, suggestion: str) -> CatalogError:
    return CatalogError([CatalogProblem(file, None, "", message, suggestion)])


def normalise_name(text: str) -> str:
    """How names are compared for clashes: case-insensitive, runs of spaces counted as one."""
    return " ".join(text.split()).casefold()


def _truthy(value: object) -> bool:
    return isinstance(value, str) and value.strip().lower() in _TRUE


class _CrossChecker:
    """Checks pydantic cannot do per field: duplicate ids and names shared by two items."""

    def __init__(self, raw: RawCatalog) -> None:
        self.raw = raw
        self.problems: list[CatalogProblem] = []
        self.flagged: set[int] = set()  # products with a problem inside them reported here
        # Item lists (by the identity of their items) already found to have nothing to report:
        # big catalogs share the same few pack sizes between thousands of products.
        self.fine: set[tuple[int, ...]] = set()

    def add(self, loc: Loc, message: str, suggestion: str) -> None:
        field = describe(loc, self.raw.data, self.raw.columns)
        self.problems.append(
            CatalogProblem(self.raw.file, self.raw.line_for(loc), field, message, suggestion)
        )

    def run(self) -> None:
        assert isinstance(self.raw.data, Mapping)
        products = self.raw.data.get("products")
        if not isinstance(products, list):
            return
        ids: dict[str, Loc] = {}
        names: dict[str, tuple[str, Loc]] = {}
        retailer_ids: dict[str, tuple[str, Loc]] = {}
        for i, product in enumerate(products):
            if not isinstance(product, Mapping):
                continue
            loc: Loc = ("products", i)
            pid = product.get("id")
            label = pid if isinstance(pid, str) and pid else f"#{i + 1}"
            if isinstance(pid, str) and pid in ids:
                self.add((*loc, "id"),
                         f"The id '{pid}' is already used by the product on line "
                         f"{self.raw.line_for(ids[pid])}.",
                         "Give each product its own id.")
            elif isinstance(pid, str):
                ids[pid] = (*loc, "id")
            # A repeated id is usually a copied product; its names would only echo that problem.
            # (An id that is not text, e.g. "id: [a, b]", is pydantic's to report.)
            copied = isinstance(pid, str) and pid in ids and ids[pid][1] != i
            for text, name_loc in [] if copied else _names(product, loc):
                key = normalise_name(text)
                other = names.setdefault(key, (label, name_loc))
                if other[0] != label:
                    self.add(name_loc,
                             f'"{text}" is a name of two products: \'{other[0]}\' (line '
                             f"{self.raw.line_for(other[1])}) and '{label}'.",
                             f'A customer writing "{text}" could mean either; keep it on one '
                             "product only.")
            self._number_aliases(product, loc)
            if self.raw.columns:
                self._listed_cells(product, loc)
            self._inside(product, loc, i)
            self._retailer_ids(product, loc, label, retailer_ids)

    def _retailer_ids(self, product: Mapping[str, object], loc: Loc, label: str,
                      seen: dict[str, tuple[str, Loc]]) -> None:
        """A WhatsApp cart names its items by retailer id: each must find exactly one item."""
        places: list[tuple[object, Loc, str]] = [
            (product.get("retailer_id"), (*loc, "retailer_id"), f"product '{label}'")]
        for j, variant in enumerate(_as_list(product.get("variants"))):
            if isinstance(variant, Mapping):
                places.append((variant.get("retailer_id"), (*loc, "variants", j, "retailer_id"),
                               f"product '{label}' > variant '{variant.get('id')}'"))
        for retailer_id, where, owner in places:
            if not isinstance(retailer_id, str) or not retailer_id.strip():
                continue
            other = seen.setdefault(retailer_id.strip(), (owner, where))
            if other[1] != where:
                self.add(where,
                         f"The retailer id '{retailer_id.strip()}' is already used by {other[0]} "
                         f"(line {self.raw.line_for(other[1])}).",
                         "Give each product and variant its own retailer id, as in your "
                         "WhatsApp catalog: a WhatsApp cart finds its items by it.")

    def _number_aliases(self, product: Mapping[str, object], loc: Loc) -> None:
        """'aliases: 5' (a CSV aliases cell holding one number): a price or stock in the wrong
        place, far more often than a name. A list is taken at its word: [1664] is a beer."""
        named: list[tuple[object, Loc]] = [(product, loc)]
        named += [(item, (*loc, "ingredients", j))
                  for j, item in enumerate(_as_list(product.get("ingredients")))]
        for g, group in enumerate(_as_list(product.get("options"))):
            if isinstance(group, Mapping):
                named += [(item, (*loc, "options", g, "choices", j))
                          for j, item in enumerate(_as_list(group.get("choices")))]
        for item, item_loc in named:
            text = _lone_number(item, csv=self.raw.columns)
            if text is not None:
                self.add((*item_loc, "aliases"),
                         f'The aliases must be other names for it, not the number "{text}".',
                         "If it is a price or stock, move it to its own "
                         f"{'column' if self.raw.columns else 'field'}. A number that is "
                         "really a name (a beer called 1664) goes with another name: "
                         + ("1664|Kronenbourg." if self.raw.columns else "[1664, Kronenbourg]."))

    def _listed_cells(self, product: Mapping[str, object], loc: Loc) -> None:
        """CSV: a name or category cell written as a list or a group ("Wrap|Roll", "[a, b]"),
        the spreadsheet's form of a list where text is expected."""
        for key in _TEXT_COLUMNS:
            value = product.get(key)
            if isinstance(value, str) and _LISTED.search(value):
                self.add((*loc, key),
                         f'The {key} must be one piece of text, but "{value.strip()}" is '
                         "written like a list.",
                         "Other names customers use go in the 'aliases' column, separated "
                         "by |." if key == "name" else f"Write one {key}, without | [ ] {{ }}.")

    def _inside(self, product: Mapping[str, object], loc: Loc, index: int) -> None:
        before = len(self.problems)
        for key, kind in _ITEM_LISTS:
            items = product.get(key)
            if isinstance(items, list) and not self._fine(items):
                self._items([((*loc, key, j), it) for j, it in enumerate(items)], kind)
        groups = product.get("options")
        if isinstance(groups, list) and not self._fine(
                [item for group in groups if isinstance(group, Mapping)
                 for item in _as_list(group.get("choices"))]):
            choices = [((*loc, "options", g, "choices", j), item)
                       for g, group in enumerate(groups) if isinstance(group, Mapping)
                       for j, item in enumerate(_as_list(group.get("choices")))]
            self._items(choices, "choice")
        variants = _as_list(product.get("variants"))
        defaults = [(j, v) for j, v in enumerate(variants)
                    if isinstance(v, Mapping) and _truthy(v.get("default"))]
        if len(defaults) > 1:
            ids = ", ".join(f"'{v.get('id')}'" for _, v in defaults[:-1])
            ids += f" and '{defaults[-1][1].get('id')}'"
            every = "both" if len(defaults) == 2 else "all"
            self.add((*loc, "variants", defaults[1][0], "default"),
                     f"Only one variant can be the default, but {ids} {every} say "
                     "'default: true'.",
                     "Keep 'default: true' on one variant and remove it from the others.")
        if len(self.problems) > before:
            self.flagged.add(index)

    def _fine(self, items: list[object]) -> bool:
        """Would _items surely find nothing in these items (no id twice, no shared name)?"""
        identity = tuple(map(id, items))
        if identity in self.fine:
            return True
        ids = [item.get("id") for item in items if isinstance(item, Mapping)]
        texts = [i for i in ids if isinstance(i, str)]
        if len(set(texts)) != len(texts) or _names_shared(items):
            return False
        self.fine.add(identity)
        return True

    def _items(self, items: list[tuple[Loc, object]], kind: str) -> None:
        ids: dict[str, Loc] = {}
        names: dict[str, str] = {}
        for loc, item in items:
            if not isinstance(item, Mapping):
                continue
            item_id = item.get("id")
            if isinstance(item_id, str):
                if item_id in ids:
                    self.add((*loc, "id"),
                             f"The {kind} id '{item_id}' is used twice in this product (also on "
                             f"line {self.raw.line_for(ids[item_id])}).",
                             f"Give each {kind} its own id.")
                    continue
                ids[item_id] = (*loc, "id")
            for text, name_loc in _names(item, loc):
                other = names.setdefault(normalise_name(text), str(item_id))
                if other != str(item_id):
                    self.add(name_loc,
                             f'"{text}" is a name of two {kind}s of this product: '
                             f"'{other}' and '{item_id}'.",
                             f"Keep it on one {kind} only, so the bot knows which one is meant.")


def validated_quickly(data: object, *, csv: bool = False) -> CatalogFile | None:
    """The catalog when `validate` would accept `data` (read from a CSV file when `csv`), else
    None. Quick because it never words a problem: whatever `validate` would report makes this
    return None instead."""
    if not isinstance(data, Mapping):
        return None
    prepared = _QuickCheck(csv=csv).prepare(data)
    if prepared is None:
        return None
    try:
        model = CatalogFile.model_validate(prepared)
    except ValidationError:
        return None
    return model if _retailer_ids_unique(model) else None


def _retailer_ids_unique(model: CatalogFile) -> bool:
    """No retailer id on two items (what _CrossChecker._retailer_ids reports)."""
    seen: set[str] = set()
    count = 0
    for product in model.products:
        if product.retailer_id is not None:
            seen.add(product.retailer_id)
            count += 1
        for variant in product.variants:
            if variant.retailer_id is not None:
                seen.add(variant.retailer_id)
                count += 1
    return len(seen) == count


# The models of the item lists inside a product.
_ITEM_MODELS: tuple[tuple[str, type[Variant | Ingredient | OptionGroup]], ...] = (
    ("variants", Variant), ("ingredients", Ingredient), ("options", OptionGroup))


class _QuickCheck:
    """What _CrossChecker would find, as a yes/no; and the items of every product turned into
    models already, each distinct raw item once (a big catalog repeats the same few pack sizes
    on thousands of products, and pydantic takes a model instance as it is)."""

    def __init__(self, *, csv: bool = False) -> None:
        self.csv = csv  # CSV data: also what _CrossChecker checks for CSV only
        # per item list key: the raw item (by identity) -> its model
        self.models: dict[str, dict[int, Variant | Ingredient | OptionGroup]] = {
            key: {} for key, _ in _ITEM_MODELS}
        # per item list key: a list of raw items (by identity) -> the list of their models
        self.lists: dict[str, dict[tuple[int, ...], list[object]]] = {
            key: {} for key, _ in _ITEM_MODELS}

    def prepare(self, data: Mapping[str, object]) -> dict[str, object] | None:
        """`data` with each product's items as models; None when anything would be reported."""
        products = data.get("products")
        if not isinstance(products, list):
            return dict(data)
        ids: set[str] = set()
        texts: list[str] = []  # every product name and alias ...
        owners: list[object] = []  # ... and the product it names
        prepared: list[object] = []
        categories: set[object] = set()  # CSV: for _CrossChecker._listed_cells
        csv = self.csv
        for number, product in enumerate(products):
            if not isinstance(product, dict):
                prepared.append(product)
                continue
            pid = product.get("id")
            label: object = number
            if isinstance(pid, str):
                if pid in ids:  # an id used twice
                    return None
                ids.add(pid)
                label = pid or number
            name, aliases = product.get("name"), product.get("aliases")
            if isinstance(name, str) and name.strip():
                texts.append(name)
                owners.append(label)
            if csv:
                categories.add(product.get("category"))
                if isinstance(aliases, list) and len(aliases) == 1:
                    alias = aliases[0]  # a cell holding one number (_number_aliases)
                    if isinstance(alias, str) and not alias[:1].isalpha() and _is_number(alias):
                        return None
            if isinstance(aliases, list):
                for alias in aliases:
                    if isinstance(alias, str) and alias.strip():
                        texts.append(alias)
                        owners.append(label)
            elif isinstance(aliases, str) and aliases.strip():
                if _is_number(aliases):  # what _CrossChecker._number_aliases reports
                    return None
                texts.append(aliases)
                owners.append(label)
            changed: dict[str, object] | None = None
            for key, model in _ITEM_MODELS:
                items = product.get(key)
                if isinstance(items, list) and items:
                    validated = self.items(items, key, model)
                    if validated is None:
                        return None
                    changed = changed or dict(product)
                    changed[key] = validated
            prepared.append(changed or product)
        if _shared(_normalised(texts), owners):  # a name of two products
            return None
        if csv:  # one search over all names (aliases too) and categories: far quicker than one
            # per cell; an alias flagged here only sends the file to the exact check
            joined = "\n".join(texts + [c for c in categories if isinstance(c, str)])
            if any(mark in joined for mark in _LIST_MARKS):  # (memchr: quicker than a regex)
                return None
        return {**data, "products": prepared}

    def items(self, items: list[object], key: str,
              model: type[Variant | Ingredient | OptionGroup]) -> list[object] | None:
        """The models of one product's `key` items; None when one is wrong or two share a
        name. Repeated item ids and two defaults make the Product model fail later."""
        identity = tuple(map(id, items))
        validated = self.lists[key].get(identity)
        if validated is not None:
            return validated
        if key == "options":
            choices = [item for group in items if isinstance(group, Mapping)
                       for item in _as_list(group.get("choices"))]
            if _names_shared(choices) or any(_lone_number(c, csv=self.csv) for c in choices):
                return None
        elif _names_shared(items) or (key == "ingredients" and any(
                _lone_number(i, csv=self.csv) for i in items)):
            return None
        models = self.models[key]
        validated = []
        for item in items:
            instance = models.get(id(item))
            if instance is None:
                try:
                    instance = models[id(item)] = model.model_validate(item)
                except ValidationError:
                    return None
            validated.append(instance)
        self.lists[key][identity] = validated
        return validated


def _normalised(texts: list[str]) -> list[str]:
    """normalise_name of every text; on one joined string when no text needs its spaces
    evened out, which is many times faster for the names of a big catalog."""
    if not texts:
        return []
    joined = "\x00".join(texts)
    if joined.count("\x00") == len(texts) - 1 and not (
        "  " in joined or " \x00" in joined or "\x00 " in joined or joined[:1] == " "
        or joined[-1:] == " " or _OTHER_SPACE.search(joined)
    ):  # single spaces only, inside the names: nothing to even out
        return joined.casefold().split("\x00")
    return [normalise_name(text) for text in texts]


def _shared(keys: list[str], owners: list[object]) -> bool:
    """Is a key owned by two different owners?"""
    if len(set(keys)) == len(keys):
        return False
    first: dict[str, object] = {}
    return any(first.setdefault(key, owner) != owner for key, owner in zip(keys, owners,
                                                                        strict=True))


def _names_shared(items: list[object]) -> bool:
    """Do two items with different ids share a name (as _CrossChecker._items sees it)?"""
    owner: dict[str, str] = {}
    for item in items:
        if isinstance(item, Mapping):
            item_id = str(item.get("id"))
            for text in _name_texts(item):
                if owner.setdefault(normalise_name(text), item_id) != item_id:
                    return True
    return False


def _name_texts(item: Mapping[str, object]) -> list[str]:
    """The texts _names finds in an item, without their places."""
    name = item.get("name")
    return [name, *_alias_texts(item)] if isinstance(name, str) and name.strip() \
        else _alias_texts(item)


def _alias_texts(item: Mapping[str, object]) -> list[str]:
    aliases = item.get("aliases")
    if isinstance(aliases, str):
        return [aliases] if aliases.strip() else []
    if isinstance(aliases, list):
        return [a for a in aliases if isinstance(a, str) and a.strip()]
    return []


def _is_number(text: str) -> bool:
    """'5', '7.50', '-2', '$3': a number, which can never be another name for an item."""
    if text[:1].isalpha():  # nearly every alias: no need for the pattern
        return False
    return _NUMBER_ALIAS.fullmatch(text) is not None


def _lone_number(item: object, *, csv: bool = False) -> str | None:
    """The number when an item's aliases are one bare number: 'aliases: 5' in YAML, a cell
    holding only '5' in CSV (which the CSV reader hands over as the list ['5'])."""
    aliases = item.get("aliases") if isinstance(item, Mapping) else None
    if csv and isinstance(aliases, list) and len(aliases) == 1:
        aliases = aliases[0]
    return aliases.strip() if isinstance(aliases, str) and _is_number(aliases) else None


def _as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _names(item: Mapping[str, object], loc: Loc) -> list[tuple[str, Loc]]:
    found: list[tuple[str, Loc]] = []
    name = item.get("name")
    if isinstance(name, str) and name.strip():
        found.append((name, (*loc, "name")))
    aliases = item.get("aliases")
    if isinstance(aliases, str) and aliases.strip():
        found.append((aliases, (*loc, "aliases")))
    elif isinstance(aliases, list):
        found += [(a, (*loc, "aliases", k)) for k, a in enumerate(aliases)
                  if isinstance(a, str) and a.strip()]
    return found
