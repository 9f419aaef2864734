"""OrderParser: the public entry point; one spaCy pipeline per process, one index per catalog."""

from __future__ import annotations

import threading

from catalog.catalog import Catalog
from parsers.assemble import Assembly
from parsers.catalog_index import CatalogIndex
from parsers.mentions import full_mentions
from parsers.message import read_message
from parsers.models import ParseResult
from parsers.pipeline import Pipeline, mark_phrase

_pipeline: Pipeline | None = None
_pipeline_lock = threading.Lock()


def shared_pipeline() -> Pipeline:
    """The spaCy pipeline is catalog-independent: build it once per process."""
    global _pipeline  # noqa: PLW0603 - a process-wide cache of an expensive immutable object
    with _pipeline_lock:
        if _pipeline is None:
            _pipeline = Pipeline()
        return _pipeline


class OrderParser:
    """Parses free-text orders against one catalog. Build once; `parse` is pure and thread-safe."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._index = CatalogIndex(catalog)
        self._pipeline = shared_pipeline()

    def parse(self, text: str) -> ParseResult:
        """Every order line in `text`, and everything that looked like one but could not be
        placed. See the package docstring for the rules."""
        units = self._pipeline.analyze(text)
        mark_phrase(units, self._index.shop_name)
        message = read_message(text, units, self._index.lexicon)
        assembly = Assembly(self._index, message)
        mentions = full_mentions(message, self._index.names, 0, len(units))
        assembly.assemble(0, len(units), assembly.keep_products(mentions), nested=False)
        return assembly.result()


def parse_order(catalog: Catalog, text: str) -> ParseResult:
    """One-off convenience; build an OrderParser and reuse it when parsing more than once."""
    return OrderParser(catalog).parse(text)
