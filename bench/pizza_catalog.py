"""The PIZZA benchmark (dev split) as an orderbot shop: a catalog built from its alias lists, and
its gold trees turned into expected order lines.

The dataset lives outside the repository (CC BY-NC 4.0: read at run time, never copied here):
`../shared/datasets/pizza-dev/` next to the repo, see ../shared/datasets/README.md.

The catalog, as a shop owner would write it from the benchmark's menu (`catalogs/*.txt`, one
`surface words<TAB>type(ENTITY)` a line):

* ONE product `pizza` ("Pizza", alias "pie"). Its variants are the sizes of size.txt (no
  default: the bot asks "which size?"); option group "Style" holds style.txt (named pizzas and
  crusts) and "Toppings" (max = every topping) holds topping.txt.
* ONE product per drink type of drinks.txt. Variants are the drink sizes small / medium / large /
  extra large / regular (no default, like the pizza). Container (container.txt) and volume
  (drink_volume.txt) are single-choice option groups rather than variants: a customer may name a
  size, a container, a volume, or any mix of them, and a product has only one variant axis.
* Ids are the entity names in kebab case (GREEN_PEPPERS -> green-peppers, volume(2,LITER) ->
  2-liter); a choice's name is its first surface form, the other forms are its aliases. A surface
  form listed for two entities (drink_volume.txt gives "seven and a half fl ounces" to 7.5 and
  16.9 fl oz) stays with the first one, as the catalog loader allows a name only once.
* number.txt and quant_qualifier.txt are grammar, not menu: the parser has its own number and
  "extra"/"light" words, so they are not used.

The catalog goes through the same validation as a catalog file (`catalog.loader.validate`).

Gold tree -> expected lines: PIZZAORDER -> product `pizza`; NUMBER -> quantity (absent: 1);
SIZE -> variant (absent: None, plus an expected "missing_variant", as the contract says);
STYLE / TOPPING -> options; COMPLEX_TOPPING (QUANTITY EXTRA|LIGHT) -> option with qualifier
extra|light; NOT(x) -> x's id in `removed`. DRINKORDER -> the drink type's product, SIZE ->
variant, CONTAINERTYPE / VOLUME -> options.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

from bench.labelled import Labelled, LineKey, line_key
from catalog.catalog import Catalog
from catalog.errors import RawCatalog
from catalog.loader import normalise_name, validate

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "pizza-dev"
DEV_FILE = "PIZZA_dev.json"
PIZZA_ID = "pizza"
DRINK_SIZES = ("SMALL", "MEDIUM", "LARGE", "EXTRA_LARGE", "REGULARSIZE")

_LINE = re.compile(r"^(?P<surface>[^\t]+)\t+(?P<kind>\w+)\((?P<args>[^)]*)\)\s*$")
_TOKEN = re.compile(r"\(|\)|[^\s()]+")

# A gold tree node: (label, children), a child being a node or a bare word.
Node: TypeAlias = "tuple[str, list[Node | str]]"


@dataclass
class Entity:
    """One menu entity of an alias list, with its surface forms in file order."""

    value: str
    surfaces: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return slug(self.value)


def slug(value: str) -> str:
    """GREEN_PEPPERS -> green-peppers; 7.5_FLOZ -> 7-5-floz."""
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")


def read_entities(path: Path, kind: str) -> list[Entity]:
    """The entities of one alias list whose type is `kind` (e.g. "topping"), in file order."""
    found: dict[str, Entity] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        match = _LINE.match(raw.strip("\r"))
        if match is None or match["kind"] != kind:
            continue
        value = "_".join(arg.strip() for arg in match["args"].split(","))
        entity = found.setdefault(value, Entity(value))
        entity.surfaces.append(" ".join(match["surface"].split()))
    return list(found.values())


def _named(entities: list[Entity], taken: set[str] | None = None) -> list[dict[str, Any]]:
    """Catalog items (id, name, aliases) for entities; a name already in `taken` is dropped."""
    taken = set() if taken is None else taken
    items: list[dict[str, Any]] = []
    for entity in entities:
        names: list[str] = []
        for surface in entity.surfaces:
            key = normalise_name(surface)
            if key not in taken:
                taken.add(key)
                names.append(surface)
        if not names:
            continue
        items.append({"id": entity.id, "name": names[0][:1].upper() + names[0][1:],
                      "aliases": names[1:]})
    return items


@dataclass(frozen=True)
class PizzaShop:
    """The built catalog and what it was built from."""

    catalog: Catalog
    sizes: frozenset[str]
    drink_sizes: frozenset[str]


def build_catalog(directory: Path = DEFAULT_DIR) -> PizzaShop:
    """The benchmark's menu as an orderbot catalog (raises CatalogError if it does not validate)."""
    lists = directory / "catalogs"
    sizes = read_entities(lists / "size.txt", "size")
    drink_sizes = [size for size in sizes if size.value in DRINK_SIZES]
    pizza_choices: set[str] = set()  # names are unique across all choices of a product
    styles = _named(read_entities(lists / "style.txt", "style"), pizza_choices)
    toppings = _named(read_entities(lists / "topping.txt", "topping"), pizza_choices)
    pizza = {
        "id": PIZZA_ID, "name": "Pizza", "aliases": ["pie"], "category": "Pizza",
        "price": "10.00",
        "variants": _named(sizes),
        "options": [
            {"group": "Style", "min": "0", "max": str(min(3, len(styles))), "choices": styles},
            {"group": "Toppings", "min": "0", "max": str(len(toppings)), "choices": toppings},
        ],
    }
    product_names = {normalise_name(name) for name in ("Pizza", "pie")}
    drinks = []
    for drink in _named(read_entities(lists / "drinks.txt", "drinkType"), product_names):
        drink_choices: set[str] = set()
        containers = _named(read_entities(lists / "container.txt", "containerType"),
                            drink_choices)
        volumes = _named(read_entities(lists / "drink_volume.txt", "volume"), drink_choices)
        drinks.append({
            **drink, "category": "Drinks", "price": "2.00",
            "variants": _named(drink_sizes),
            "options": [{"group": "Container", "min": "0", "max": "1", "choices": containers},
                        {"group": "Volume", "min": "0", "max": "1", "choices": volumes}],
        })
    data = {"shop": {"name": "Pizza dev benchmark", "currency": "USD"},
            "products": [pizza, *drinks]}
    model = validate(RawCatalog(file="<pizza-dev catalog>", data=data))
    return PizzaShop(Catalog(model, source="<pizza-dev catalog>"),
                     frozenset(size.id for size in sizes),
                     frozenset(size.id for size in drink_sizes))


def parse_tree(text: str) -> Node:
    """'(ORDER (PIZZAORDER (NUMBER 2 ) ...) )' as nested (label, children)."""
    tokens = _TOKEN.findall(text)
    position = 0

    def node() -> Node:
        nonlocal position
        if tokens[position] != "(":
            raise ValueError(f"expected '(' at token {position} of {text!r}")
        label = tokens[position + 1]
        position += 2
        children: list[Node | str] = []
        while tokens[position] != ")":
            if tokens[position] == "(":
                children.append(node())
            else:
                children.append(tokens[position])
                position += 1
        position += 1
        return (label, children)

    return node()


def _words(node: Node) -> str:
    return "_".join(child for child in node[1] if isinstance(child, str))


def _nodes(node: Node) -> list[Node]:
    return [child for child in node[1] if not isinstance(child, str)]


def _choice(node: Node) -> tuple[str, str | None]:
    """A STYLE / TOPPING / COMPLEX_TOPPING / CONTAINERTYPE / VOLUME node as (id, qualifier)."""
    if node[0] != "COMPLEX_TOPPING":
        return slug(_words(node)), None
    qualifier: str | None = None
    choice = ""
    for child in _nodes(node):
        if child[0] == "QUANTITY":
            qualifier = _words(child).lower()
        else:
            choice = slug(_words(child))
    return choice, qualifier


def _order_line(order: Node) -> LineKey:
    product = PIZZA_ID
    quantity = 1
    variant: str | None = None
    options: list[tuple[str, str | None]] = []
    removed: list[str] = []
    for child in _nodes(order):
        label = child[0]
        if label == "NUMBER":
            quantity = int(float(_words(child)))
        elif label == "SIZE":
            variant = slug(_words(child))
        elif label == "DRINKTYPE":
            product = slug(_words(child))
        elif label == "NOT":
            removed += [_choice(inner)[0] for inner in _nodes(child)]
        elif label in {"STYLE", "TOPPING", "COMPLEX_TOPPING", "CONTAINERTYPE", "VOLUME"}:
            options.append(_choice(child))
        else:
            raise ValueError(f"unexpected node {label} in an order")
    return line_key(product, quantity, variant, options, removed)


def gold_label(text: str, exr: str) -> Labelled:
    """The expected reading of one benchmark order."""
    tree = parse_tree(exr)
    lines = tuple(_order_line(order) for order in _nodes(tree)
                  if order[0] in {"PIZZAORDER", "DRINKORDER"})
    # Every product here has variants and no default: no size -> the bot asks.
    reasons = tuple("missing_variant" for line in lines if line[2] is None)
    return Labelled(text, lines, reasons)


def load_dev(directory: Path = DEFAULT_DIR) -> list[Labelled]:
    """The dev split's 348 orders as labels (utterance `dev.SRC`, gold tree `dev.EXR`)."""
    labels = []
    for raw in (directory / DEV_FILE).read_text(encoding="utf-8").splitlines():
        if raw.strip():
            row = json.loads(raw)
            labels.append(gold_label(str(row["dev.SRC"]), str(row["dev.EXR"])))
    return labels


def unknown_ids(shop: PizzaShop, labels: list[Labelled]) -> list[str]:
    """Gold ids the built catalog lacks (a gold line no parse could match), for the report."""
    missing: list[str] = []
    for label in labels:
        for product_id, _, variant, options, removed in label.lines:
            product = shop.catalog.product(product_id)
            if product is None:
                missing.append(product_id)
                continue
            if variant is not None and product.variant(variant) is None:
                missing.append(f"{product_id}/{variant}")
            missing += [f"{product_id}+{choice}" for choice in
                        [o for o, _ in options] + list(removed)
                        if product.choice(choice) is None]
    return missing
