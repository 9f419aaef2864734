"""Loading a catalog file (YAML or CSV) into a `Catalog`, reporting every mistake at once.

Prices are written as plain numbers ("7.50"). A currency sign ("$7.50") is rejected with a
suggestion rather than stripped: the currency is set once in the shop settings, and accepting a
sign that disagrees with it ("€7.50" in a USD shop) would silently charge the wrong amount.
Decimal commas ("7,50") are rejected the same way, since "1,000" could mean a thousand.

The checks live beside it: catalog.validation words every problem with its line, and
catalog.quick_validation accepts a good file without wording anything.
"""

from __future__ import annotations

import gc
from pathlib import Path

from catalog.catalog import Catalog
from catalog.csv_format import parse_csv
from catalog.errors import CatalogError, CatalogProblem
from catalog.item_names import normalise_name
from catalog.models import CatalogFile
from catalog.quick_validation import validated_quickly
from catalog.validation import validate
from catalog.yaml_fast import load_plain_yaml, load_plain_yaml_lines
from catalog.yaml_lines import parse_yaml

# Public names. validate, validated_quickly and normalise_name are defined with the checks
# and re-exported here, so `from catalog.loader import ...` keeps working for every caller.
__all__ = [
    "CSV_SUFFIXES",
    "YAML_SUFFIXES",
    "load_catalog",
    "load_catalog_bytes",
    "normalise_name",
    "validate",
    "validated_quickly",
]

YAML_SUFFIXES = (".yaml", ".yml")
CSV_SUFFIXES = (".csv",)


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


def _single(file: str, message: str, suggestion: str) -> CatalogError:
    return CatalogError([CatalogProblem(file, None, "", message, suggestion)])
