"""Checking parsed catalog data the exact way: every problem worded for the owner, with its line.

Besides the models' own rules, the checks that span items: an id or a name used twice, retailer
ids, a number where an alias belongs, a CSV name cell written as a list.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError

from catalog.errors import CatalogError, CatalogProblem, Loc, RawCatalog
from catalog.explain import explain_error, show
from catalog.item_names import (
    LISTED_CELL,
    TEXT_COLUMNS,
    as_list,
    lone_number_alias,
    names_shared,
    names_with_places,
    normalise_name,
)
from catalog.locate import describe
from catalog.models import CatalogFile

_TRUE = {"true", "yes", "on", "1", "y", "t"}
# Item lists inside a product whose ids must be unique and whose names must not overlap.
_ITEM_LISTS = (("variants", "variant"), ("ingredients", "ingredient"))


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
            for text, name_loc in [] if copied else names_with_places(product, loc):
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
        for j, variant in enumerate(as_list(product.get("variants"))):
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
                  for j, item in enumerate(as_list(product.get("ingredients")))]
        for g, group in enumerate(as_list(product.get("options"))):
            if isinstance(group, Mapping):
                named += [(item, (*loc, "options", g, "choices", j))
                          for j, item in enumerate(as_list(group.get("choices")))]
        for item, item_loc in named:
            text = lone_number_alias(item, csv=self.raw.columns)
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
        for key in TEXT_COLUMNS:
            value = product.get(key)
            if isinstance(value, str) and LISTED_CELL.search(value):
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
                 for item in as_list(group.get("choices"))]):
            choices = [((*loc, "options", g, "choices", j), item)
                       for g, group in enumerate(groups) if isinstance(group, Mapping)
                       for j, item in enumerate(as_list(group.get("choices")))]
            self._items(choices, "choice")
        variants = as_list(product.get("variants"))
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
        if len(set(texts)) != len(texts) or names_shared(items):
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
            for text, name_loc in names_with_places(item, loc):
                other = names.setdefault(normalise_name(text), str(item_id))
                if other != str(item_id):
                    self.add(name_loc,
                             f'"{text}" is a name of two {kind}s of this product: '
                             f"'{other}' and '{item_id}'.",
                             f"Keep it on one {kind} only, so the bot knows which one is meant.")
